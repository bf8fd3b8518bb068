package errs

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Mode is the environment mode that decides how much an error response
// reveals. Production is the zero value.
type Mode uint8

const (
	// Production shows no context except what is marked public, no stack,
	// and a generic detail for every 5xx.
	Production Mode = iota
	// Staging shows sanitized context, the sanitized cause and a short stack
	// with package-relative paths.
	Staging
	// Development shows sanitized context, the cause and the whole stack
	// with package-relative paths.
	Development
)

// String returns "production", "staging" or "development".
func (m Mode) String() string {
	switch m {
	case Staging:
		return "staging"
	case Development:
		return "development"
	}
	return "production"
}

// ParseMode reads "production", "staging" or "development" (any case; "prod",
// "stage" and "dev" too). The empty string is Production.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "production", "prod":
		return Production, nil
	case "staging", "stage":
		return Staging, nil
	case "development", "dev":
		return Development, nil
	}
	return Production, Configf("errs: unknown environment mode %q (want development, staging or production)", s)
}

// Config is the process-wide error configuration, chosen once at start-up.
type Config struct {
	// Mode decides what responses reveal. Zero: Production.
	Mode Mode
	// Logger receives 5xx errors and recovered panics. Nil: slog.Default().
	Logger *slog.Logger
	// AuditLogger, when set, receives every authentication, authorization
	// and security error written, and the events passed to Audit.
	AuditLogger *slog.Logger
	// Sanitizer cleans context, causes and stacks. Nil: the default sanitizer.
	Sanitizer *Sanitizer
	// TypeBase, when set, makes the problem "type" TypeBase + code (for
	// example "https://docs.example.com/problems/" + "rate_limited"). Empty:
	// "about:blank", as RFC 9457 suggests for plain HTTP errors.
	TypeBase string
}

var config atomic.Pointer[Config]

func init() { config.Store(&Config{}) }

// Configure sets the process-wide error configuration. Call it once at
// start-up, before serving.
func Configure(c Config) {
	config.Store(&c)
}

// SetMode changes only the mode of the process-wide configuration.
func SetMode(m Mode) {
	c := *current()
	c.Mode = m
	config.Store(&c)
}

// CurrentMode returns the configured mode.
func CurrentMode() Mode { return current().Mode }

func current() *Config { return config.Load() }

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Config) sanitizer() *Sanitizer {
	if c.Sanitizer != nil {
		return c.Sanitizer
	}
	return defaultSanitizer
}

// DefaultSanitizer returns the sanitizer the process-wide configuration uses.
func DefaultSanitizer() *Sanitizer { return current().sanitizer() }

var _ fmt.Stringer = Mode(0)
