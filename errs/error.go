package errs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
)

// Error is the one error type every Covet stage returns. It carries what a
// problem+json response needs (status, machine code, message), what a log
// needs (context, cause, stack) and what errors.Is/As need (kind, cause).
//
// An *Error is immutable once built: the With methods return a modified copy,
// so package-level sentinel errors can be shared and refined safely.
type Error struct {
	kind    Kind
	code    string
	message string
	status  int
	context map[string]any
	public  map[string]any
	fields  []FieldError
	header  http.Header
	cause   error
	stack   []uintptr
	// causeShown: the message already holds the cause's text (Configf).
	causeShown bool
	// audited: a stage recorded this refusal with Audit, so Write does
	// not record it again.
	audited bool
}

// FieldError describes one invalid field of a request body or query. Field is
// the name the client used (the JSON name, with nested and slice paths such
// as "items[2].name"), Pointer its RFC 6901 JSON pointer ("/items/2/name"),
// Rule the rule that failed ("required", "max"), Param the rule's parameter.
type FieldError struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

// New returns an error of the given kind. code is the stable machine code
// clients may switch on (empty: the kind's default code); message is a human
// sentence that is safe to show to the client for 4xx errors. 5xx errors
// record the caller's stack.
func New(kind Kind, code, message string) *Error {
	return newError(kind, code, message)
}

// newError is called directly by the exported constructors, so the stack it
// records starts at their caller.
func newError(kind Kind, code, message string) *Error {
	e := &Error{kind: kind, code: code, message: message}
	if kind.Status() >= 500 {
		e.stack = callers(4)
	}
	return e
}

// Wrap returns an error of the given kind whose cause is err. A nil err gives
// a nil *Error.
func Wrap(err error, kind Kind, code, message string) *Error {
	if err == nil {
		return nil
	}
	e := newError(kind, code, message)
	e.cause = err
	return e
}

// Configf returns a configuration error: what a constructor returns for an
// invalid or insecure setting. The message should name the setting. Like
// fmt.Errorf, a %w verb makes its operand the cause (errors.Is/As reach it).
func Configf(format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{kind: KindConfiguration, message: err.Error(), causeShown: true}
	if u, ok := err.(interface{ Unwrap() error }); ok {
		e.cause = u.Unwrap()
	} else if u, ok := err.(interface{ Unwrap() []error }); ok {
		e.cause = errors.Join(u.Unwrap()...)
	}
	return e
}

func callers(skip int) []uintptr {
	var pcs [32]uintptr
	n := runtime.Callers(skip, pcs[:])
	return slices.Clone(pcs[:n])
}

// Error returns the message, followed by the cause's text when there is one.
func (e *Error) Error() string {
	msg := e.message
	if msg == "" {
		msg = e.Code()
	}
	if e.cause != nil && !e.causeShown {
		return msg + ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is this error's Kind, or an *Error with the same
// kind and code (so package sentinels work with errors.Is after With calls).
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Kind:
		return e.kind == t
	case *Error:
		return e.kind == t.kind && e.Code() == t.Code()
	}
	return false
}

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Code returns the stable machine code.
func (e *Error) Code() string {
	if e.code != "" {
		return e.code
	}
	return e.kind.Code()
}

// Message returns the human message (without the cause).
func (e *Error) Message() string { return e.message }

// Status returns the HTTP status this error is rendered with.
func (e *Error) Status() int {
	if e.status != 0 {
		return e.status
	}
	return e.kind.Status()
}

// Context returns a copy of the debugging context. It is shown to clients
// only in Development and (sanitized) Staging.
func (e *Error) Context() map[string]any { return maps.Clone(e.context) }

// Public returns a copy of the context marked safe to show in every mode.
func (e *Error) Public() map[string]any { return maps.Clone(e.public) }

// Fields returns the field errors of a validation error.
func (e *Error) Fields() []FieldError { return slices.Clone(e.fields) }

// Header returns the response headers Write sets with this error (for example
// Retry-After or WWW-Authenticate). The result must not be modified.
func (e *Error) Header() http.Header { return e.header }

func (e *Error) clone() *Error {
	c := *e
	return &c
}

// WithAudited returns a copy marked as already recorded on the audit
// logger: a stage that wrote its own, richer record of a refusal with Audit
// (authn's reason, authz's permission) marks the error it returns, and
// Write then leaves it out of the audit log rather than record it twice.
func (e *Error) WithAudited() *Error {
	c := e.clone()
	c.audited = true
	return c
}

// WithStatus returns a copy rendered with the given HTTP status (400-599).
func (e *Error) WithStatus(status int) *Error {
	c := e.clone()
	if status >= 400 && status <= 599 {
		c.status = status
	}
	return c
}

// WithMessage returns a copy with another human message.
func (e *Error) WithMessage(message string) *Error {
	c := e.clone()
	c.message = message
	return c
}

// WithCause returns a copy whose cause is err.
func (e *Error) WithCause(err error) *Error {
	c := e.clone()
	c.cause, c.causeShown = err, false
	return c
}

// With returns a copy with key set in the debugging context. Context is
// sanitized before it is shown or logged, and hidden in Production.
func (e *Error) With(key string, value any) *Error {
	c := e.clone()
	c.context = maps.Clone(c.context)
	if c.context == nil {
		c.context = make(map[string]any, 2)
	}
	c.context[key] = value
	return c
}

// WithPublic returns a copy with key set in the public context, which is
// shown in every mode (still passed through the sanitizer).
func (e *Error) WithPublic(key string, value any) *Error {
	c := e.clone()
	c.public = maps.Clone(c.public)
	if c.public == nil {
		c.public = make(map[string]any, 2)
	}
	c.public[key] = value
	return c
}

// WithFields returns a copy carrying field errors (rendered as "errors").
func (e *Error) WithFields(fields ...FieldError) *Error {
	c := e.clone()
	c.fields = append(slices.Clip(c.fields), fields...)
	return c
}

// WithHeader returns a copy that sets the response header key to value when
// written.
func (e *Error) WithHeader(key, value string) *Error {
	c := e.clone()
	c.header = c.header.Clone()
	if c.header == nil {
		c.header = make(http.Header, 1)
	}
	c.header.Set(key, value)
	return c
}

// KindOf returns the kind of the first *Error in err's chain. Well-known
// standard errors map to their natural kinds (context.DeadlineExceeded is a
// timeout, *http.MaxBytesError is PayloadTooLarge); anything else is
// KindInternal.
func KindOf(err error) Kind {
	return From(err).kind
}

// From returns err as an *Error: the first *Error in its chain, a mapped
// well-known error, or a KindInternal error wrapping it. From(nil) is nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{kind: KindPayloadTooLarge, message: "The request body is too large.", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{kind: KindTimeout, message: "The request took too long.", cause: err}
	case errors.Is(err, context.Canceled):
		// The client went away; 499 is nginx's convention and never reaches it.
		return &Error{kind: KindServiceUnavailable, code: "request_canceled", message: "The request was canceled.", status: 499, cause: err}
	}
	return &Error{kind: KindInternal, cause: err}
}
