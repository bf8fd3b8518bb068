package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	DBInDataDir    bool     // DBDSN is the default file in DataDir
	RedisAddr      string   // COVET_REDIS_ADDR as given; empty: in-memory stores
	RedisAddrs     []string // one address: a single node; several: Redis Cluster seeds
	RedisPrefix    string   // starts every Redis key and channel of the app
	NATSURL        string   // COVET_NATS_URL: NATS carries the WebSocket rooms
	DrainDelay     time.Duration
	CORSOrigins    []string
	SecretKey      []byte
	SecretFromEnv  bool
	TrustedProxies []netip.Prefix
	AdminEmail     string // canonical (canonicalEmail); that account is the admin
	MetricsAddr    string // internal address serving /metrics
	MetricsToken   string // bearer token for /metrics on the main address
	Tracing        tracingConfig

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
	// In this order, so that of several wrong variables the same one is
	// reported first every time.
	for _, load := range []func(*config, func(string) string) error{
		(*config).loadServer,
		(*config).loadDatabase,
		(*config).loadStores,
		(*config).loadDrainDelay,
		(*config).loadRedisPrefixAndOrigins,
		(*config).loadSecret,
		(*config).loadAccess,
		parseMetricsConfig,
		(*config).loadTracing,
		(*config).loadRates,
	} {
		if err := load(c, getenv); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loadServer checks the listen address and reads the mode.
func (c *config) loadServer(getenv func(string) string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return &configError{"COVET_ADDR", "want host:port, got " + strconv.Quote(c.Addr)}
	}
	env := strings.TrimSpace(getenv("COVET_ENV"))
	mode, err := errs.ParseMode(or(env, "development"))
	if err != nil {
		return &configError{"COVET_ENV", "want development, staging or production"}
	}
	// Development answers a 5xx with its cause and stack trace, serves
	// /metrics to anyone and sends cookies over plain HTTP: fine on a
	// laptop, not by accident on a network.
	if env == "" && !loopback(c.Addr) {
		return &configError{"COVET_ENV", "is not set, and the default (development) shows stack traces to clients, but COVET_ADDR " +
			strconv.Quote(c.Addr) + " listens beyond this machine: set COVET_ENV=production (or staging), or COVET_ENV=development to accept that"}
	}
	c.Mode = mode
	return nil
}

// loopback reports whether the listen address addr (host:port) accepts
// connections from this machine only.
func loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// loadDatabase reads COVET_DB_DSN; without it the app uses a SQLite file
// in the data directory.
func (c *config) loadDatabase(getenv func(string) string) error {
	c.DBDSN, c.DBInDataDir = filepath.Join(c.DataDir, "covet-fullstack.db"), true
	if dsn := strings.TrimSpace(getenv("COVET_DB_DSN")); dsn != "" {
		c.DBInDataDir = false
		var err error
		c.DBDriver, c.DBDSN, err = parseDSN(dsn)
		if err != nil {
			return &configError{"COVET_DB_DSN", err.Error()}
		}
	}
	return nil
}

// loadStores splits the Redis addresses and checks the NATS URL.
func (c *config) loadStores(getenv func(string) string) error {
	if c.RedisAddr != "" {
		for _, addr := range strings.Split(c.RedisAddr, ",") {
			addr = strings.TrimSpace(addr)
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return &configError{"COVET_REDIS_ADDR", "want host:port, or a comma-separated list of Redis Cluster nodes"}
			}
			c.RedisAddrs = append(c.RedisAddrs, addr)
		}
	}
	if u := strings.TrimSpace(getenv("COVET_NATS_URL")); u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "nats" && p.Scheme != "tls") || p.Host == "" {
			return &configError{"COVET_NATS_URL", "want nats://host:port"}
		}
		c.NATSURL = u
	}
	return nil
}

// loadDrainDelay sets how long the listener stays open after readiness
// fails: behind a load balancer, readiness fails first and the listener
// closes this much later, so the balancer stops sending before
// connections are refused.
func (c *config) loadDrainDelay(getenv func(string) string) error {
	if c.Mode != errs.Development {
		c.DrainDelay = 5 * time.Second
	}
	if v := strings.TrimSpace(getenv("COVET_DRAIN_DELAY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			return &configError{"COVET_DRAIN_DELAY", "want a duration from 0s to 5m, such as 5s"}
		}
		c.DrainDelay = d
	}
	return nil
}

// loadRedisPrefixAndOrigins checks the Redis key prefix and reads the CORS
// origins (cors.New validates them).
func (c *config) loadRedisPrefixAndOrigins(getenv func(string) string) error {
	if strings.ContainsAny(c.RedisPrefix, "{} \t\r\n") || len(c.RedisPrefix) > 64 {
		return &configError{"COVET_REDIS_PREFIX", "at most 64 characters, without braces or white space"}
	}
	for _, o := range strings.Split(getenv("COVET_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	return nil
}

// loadSecret reads COVET_SECRET_KEY: required outside Development, where a
// random key for this process is the fallback.
func (c *config) loadSecret(getenv func(string) string) error {
	key := getenv("COVET_SECRET_KEY")
	switch {
	case key != "":
		if len(key) < 32 {
			return &configError{"COVET_SECRET_KEY", "must be at least 32 characters"}
		}
		c.SecretKey, c.SecretFromEnv = []byte(key), true
	case c.Mode != errs.Development:
		return &configError{"COVET_SECRET_KEY", "is required in " + c.Mode.String() + " (at least 32 random characters)"}
	default:
		c.SecretKey = make([]byte, 32)
		_, _ = rand.Read(c.SecretKey)
	}
	return nil
}

// loadAccess reads who is trusted: the proxies whose forwarded client
// address counts, and the admin's email address.
func (c *config) loadAccess(getenv func(string) string) error {
	if p := getenv("COVET_TRUSTED_PROXIES"); p != "" {
		var err error
		c.TrustedProxies, err = clientip.ParsePrefixes(strings.Split(p, ",")...)
		if err != nil {
			return &configError{"COVET_TRUSTED_PROXIES", err.Error()}
		}
	}
	if e := getenv("COVET_ADMIN_EMAIL"); strings.TrimSpace(e) != "" {
		c.AdminEmail = canonicalEmail(e)
		if at := strings.LastIndexByte(c.AdminEmail, '@'); at < 1 || at == len(c.AdminEmail)-1 || strings.ContainsAny(c.AdminEmail, " \t\r\n") {
			return &configError{"COVET_ADMIN_EMAIL", "want an email address"}
		}
	}
	return nil
}

// loadTracing reads the OpenTelemetry settings.
func (c *config) loadTracing(getenv func(string) string) error {
	var err error
	c.Tracing, err = loadTracing(getenv)
	return err
}

// loadRates reads the per-minute rate limits.
func (c *config) loadRates(getenv func(string) string) error {
	for _, l := range []struct {
		name string
		dst  *int
	}{{"COVET_RATE_GLOBAL", &c.RateGlobal}, {"COVET_RATE_AUTH", &c.RateAuth}, {"COVET_RATE_API", &c.RateAPI}} {
		if v := getenv(l.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 60_000_000 {
				return &configError{l.name, "want a whole number of requests per minute from 1 to 60000000"}
			}
			*l.dst = n
		}
	}
	return nil
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
