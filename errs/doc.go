// Package errs is the error model every Covet stage speaks.
//
// An *Error carries a Kind (following CovetPy's exception hierarchy:
// Configuration, Validation, Authentication, Authorization, RateLimit, ...),
// a stable machine code clients can switch on, a human message, the HTTP
// status, debugging context, field errors and the cause. errors.Is and
// errors.As work on kinds and sentinels through any wrapping.
//
// Write renders any error as an RFC 9457 application/problem+json response
// with the code and the correlation ID from observe.RequestID, so a client
// sees one shape for every 4xx and 5xx of every stage. What a response
// reveals depends on the process-wide Mode (Configure): Production, the
// zero value, shows no context except values marked public, no stack and a
// generic detail for every 5xx; Staging shows sanitized context and a short
// stack; Development shows the cause and the whole stack. Stacks name files
// by package import path, never by machine path, and a Sanitizer redacts
// secrets (sensitive keys, JWTs, bearer credentials, card numbers,
// key=value assignments, URL passwords) in every mode and in the logs.
//
// Recover is the panic-recovery stage and Handle adapts handlers that
// return errors. Authentication, authorization and security errors, and
// events passed to Audit, go to a separate audit logger when one is set.
package errs
