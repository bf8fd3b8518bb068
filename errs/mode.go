package errs

import (
	"fmt"
	"strings"
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

var _ fmt.Stringer = Mode(0)
