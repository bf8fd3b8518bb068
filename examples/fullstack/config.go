package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

// config is everything the app reads from the environment.
type config struct {
	Addr           string
	Mode           errs.Mode
	DataDir        string // holds the default SQLite database
	DBDriver       string // sqlite, postgres or mysql
	DBDSN          string
	DBInDataDir    bool   // DBDSN is the default file in DataDir
	RedisAddr      string // empty: in-memory stores
	RedisPrefix    string // starts every Redis key and channel of the app
	CORSOrigins    []string
	SecretKey      []byte
	SecretFromEnv  bool
	TrustedProxies []netip.Prefix

	// Limits, per minute; a load test lifts them.
	RateGlobal int // per client IP, every route
	RateAuth   int // per client IP, /auth/*
	RateAPI    int // per user, /api/*
}

// configError names the variable that is wrong, so start-up fails with one
// clear line.
type configError struct {
	Var string
	Msg string
}

func (e *configError) Error() string { return e.Var + ": " + e.Msg }

// loadConfig reads the environment through getenv.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		Addr:        or(getenv("COVET_ADDR"), "127.0.0.1:8080"),
		DataDir:     or(getenv("COVET_DATA_DIR"), defaultDataDir()),
		DBDriver:    "sqlite",
		RedisAddr:   strings.TrimSpace(getenv("COVET_REDIS_ADDR")),
		RedisPrefix: or(getenv("COVET_REDIS_PREFIX"), "covet:fullstack:"),
		RateGlobal:  600,
		RateAuth:    30,
		RateAPI:     300,
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return nil, &configError{"COVET_ADDR", "want host:port, got " + strconv.Quote(c.Addr)}
	}
	mode, err := errs.ParseMode(or(getenv("COVET_ENV"), "development"))
	if err != nil {
		return nil, &configError{"COVET_ENV", "want development, staging or production"}
	}
	c.Mode = mode

	c.DBDSN, c.DBInDataDir = filepath.Join(c.DataDir, "covet-fullstack.db"), true
	if dsn := strings.TrimSpace(getenv("COVET_DB_DSN")); dsn != "" {
		c.DBInDataDir = false
		c.DBDriver, c.DBDSN, err = parseDSN(dsn)
		if err != nil {
			return nil, &configError{"COVET_DB_DSN", err.Error()}
		}
	}
	if c.RedisAddr != "" {
		if _, _, err := net.SplitHostPort(c.RedisAddr); err != nil {
			return nil, &configError{"COVET_REDIS_ADDR", "want host:port"}
		}
	}
	if strings.ContainsAny(c.RedisPrefix, "{} \t\r\n") || len(c.RedisPrefix) > 64 {
		return nil, &configError{"COVET_REDIS_PREFIX", "at most 64 characters, without braces or white space"}
	}
	for _, o := range strings.Split(getenv("COVET_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if key := getenv("COVET_SECRET_KEY"); key != "" {
		if len(key) < 32 {
			return nil, &configError{"COVET_SECRET_KEY", "must be at least 32 characters"}
		}
		c.SecretKey, c.SecretFromEnv = []byte(key), true
	} else if c.Mode == errs.Production {
		return nil, &configError{"COVET_SECRET_KEY", "is required in production"}
	} else {
		c.SecretKey = make([]byte, 32)
		_, _ = rand.Read(c.SecretKey)
	}
	if p := getenv("COVET_TRUSTED_PROXIES"); p != "" {
		c.TrustedProxies, err = clientip.ParsePrefixes(strings.Split(p, ",")...)
		if err != nil {
			return nil, &configError{"COVET_TRUSTED_PROXIES", err.Error()}
		}
	}
	for _, l := range []struct {
		name string
		dst  *int
	}{{"COVET_RATE_GLOBAL", &c.RateGlobal}, {"COVET_RATE_AUTH", &c.RateAuth}, {"COVET_RATE_API", &c.RateAPI}} {
		if v := getenv(l.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 60_000_000 {
				return nil, &configError{l.name, "want a whole number of requests per minute from 1 to 60000000"}
			}
			*l.dst = n
		}
	}
	return c, nil
}

// parseDSN picks the driver from the DSN: postgres:// or postgresql://,
// mysql:// (converted to the go-sql-driver form), or a SQLite file path.
func parseDSN(dsn string) (driver, out string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return "", "", errors.New("not a valid postgres URL")
		}
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "mysql://"):
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return "", "", errors.New("not a valid mysql URL (mysql://user:pass@host:port/db)")
		}
		pass, _ := u.User.Password()
		q := u.Query()
		q.Set("parseTime", "true")
		return "mysql", fmt.Sprintf("%s:%s@tcp(%s)%s?%s", u.User.Username(), pass, u.Host, u.Path, q.Encode()), nil
	case strings.Contains(dsn, "://"):
		return "", "", errors.New("unknown scheme (want postgres://, mysql:// or a SQLite file path)")
	}
	return "sqlite", dsn, nil
}

// defaultDataDir is where the app keeps its files when COVET_DATA_DIR is
// not set: covet-fullstack in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS,
// %LocalAppData% on Windows), or in the temporary directory when there is
// none. Never the current directory.
func defaultDataDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "covet-fullstack")
}

func or(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

// randomSecret returns a printable random secret for development.
func randomSecret(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
