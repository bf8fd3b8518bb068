package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
)

func TestConfig(t *testing.T) {
	valid := map[string]string{"COVET_SECRET_KEY": strings.Repeat("k", 32)}
	tests := []struct {
		name    string
		env     map[string]string
		badVar  string
		checkFn func(*testing.T, *config)
	}{
		{"defaults", nil, "", func(t *testing.T, c *config) {
			if c.Addr != "127.0.0.1:8080" || c.Mode != errs.Development || c.DBDriver != "sqlite" || c.RedisAddr != "" || c.SecretFromEnv {
				t.Fatalf("defaults %+v", c)
			}
			if len(c.SecretKey) != 32 {
				t.Fatal("no generated secret in development")
			}
		}},
		{"postgres", map[string]string{"COVET_DB_DSN": "postgres://u:p@db:5432/app"}, "", func(t *testing.T, c *config) {
			if c.DBDriver != "postgres" {
				t.Fatal(c.DBDriver)
			}
		}},
		{"mysql url", map[string]string{"COVET_DB_DSN": "mysql://app:pw@db:3306/notes"}, "", func(t *testing.T, c *config) {
			if c.DBDriver != "mysql" || c.DBDSN != "app:pw@tcp(db:3306)/notes?parseTime=true" {
				t.Fatalf("%s %s", c.DBDriver, c.DBDSN)
			}
		}},
		{"production needs a secret", map[string]string{"COVET_ENV": "production"}, "COVET_SECRET_KEY", nil},
		{"production with secret", merge(valid, map[string]string{"COVET_ENV": "production"}), "", func(t *testing.T, c *config) {
			if c.Mode != errs.Production || !c.SecretFromEnv {
				t.Fatalf("%+v", c)
			}
		}},
		{"short secret", map[string]string{"COVET_SECRET_KEY": "short"}, "COVET_SECRET_KEY", nil},
		{"bad mode", map[string]string{"COVET_ENV": "prod-ish"}, "COVET_ENV", nil},
		{"bad addr", map[string]string{"COVET_ADDR": "8080"}, "COVET_ADDR", nil},
		// Development answers a 5xx with its stack: by default only on
		// this machine.
		{"default mode on all interfaces", map[string]string{"COVET_ADDR": ":8080"}, "COVET_ENV", nil},
		{"default mode on 0.0.0.0", map[string]string{"COVET_ADDR": "0.0.0.0:8080"}, "COVET_ENV", nil},
		{"default mode on a LAN address", map[string]string{"COVET_ADDR": "192.168.1.10:8080"}, "COVET_ENV", nil},
		{"default mode on a host name", map[string]string{"COVET_ADDR": "app.internal:8080"}, "COVET_ENV", nil},
		{"default mode on ::1", map[string]string{"COVET_ADDR": "[::1]:8080"}, "", func(t *testing.T, c *config) {}},
		{"default mode on localhost", map[string]string{"COVET_ADDR": "localhost:8080"}, "", func(t *testing.T, c *config) {}},
		{"explicit development on all interfaces", map[string]string{"COVET_ADDR": ":8080", "COVET_ENV": "development"}, "", func(t *testing.T, c *config) {
			if c.Mode != errs.Development {
				t.Fatal(c.Mode)
			}
		}},
		{"production on all interfaces", merge(valid, map[string]string{"COVET_ADDR": ":8080", "COVET_ENV": "production"}), "", func(t *testing.T, c *config) {}},
		{"bad dsn scheme", map[string]string{"COVET_DB_DSN": "mongodb://x"}, "COVET_DB_DSN", nil},
		{"bad redis", map[string]string{"COVET_REDIS_ADDR": "localhost"}, "COVET_REDIS_ADDR", nil},
		{"bad redis prefix", map[string]string{"COVET_REDIS_PREFIX": "a{b}"}, "COVET_REDIS_PREFIX", nil},
		{"bad proxies", map[string]string{"COVET_TRUSTED_PROXIES": "10.0.0.0/33"}, "COVET_TRUSTED_PROXIES", nil},
		{"bad rate", map[string]string{"COVET_RATE_API": "fast"}, "COVET_RATE_API", nil},
		{"rate too high", map[string]string{"COVET_RATE_GLOBAL": "100000000"}, "COVET_RATE_GLOBAL", nil},
		{"zero rate", map[string]string{"COVET_RATE_AUTH": "0"}, "COVET_RATE_AUTH", nil},
		{"origins", map[string]string{"COVET_CORS_ORIGINS": " https://a.example.com, https://b.example.com ,"}, "", func(t *testing.T, c *config) {
			if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example.com" {
				t.Fatalf("%q", c.CORSOrigins)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.badVar != "" {
				var ce *configError
				if !errors.As(err, &ce) || ce.Var != tt.badVar || !strings.HasPrefix(err.Error(), tt.badVar+": ") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("want one line naming %s, got %v", tt.badVar, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.checkFn(t, c)
		})
	}
}

// An invalid CORS origin stops start-up naming the variable.
func TestConfigRefusedByAStage(t *testing.T) {
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"COVET_CORS_ORIGINS": "https://*example.com", "COVET_DB_DSN": t.TempDir() + "/x.db"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newApp(t.Context(), cfg, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "COVET_CORS_ORIGINS: ") {
		t.Fatalf("want a COVET_CORS_ORIGINS error, got %v", err)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
