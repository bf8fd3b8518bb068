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
// reveals depends on the Mode of the Renderer that writes it: Production, the
// zero value, shows no context except values marked public, no stack and a
// generic detail for every 5xx; Staging shows sanitized context and a short
// stack; Development shows the cause and the whole stack. Stacks name files
// by package import path, never by machine path, and a Sanitizer redacts
// secrets (sensitive keys, JWTs, bearer credentials, card numbers,
// key=value assignments, URL passwords) in every mode and in the logs.
//
// # Renderers, like slog's loggers
//
// A Renderer holds the mode, the loggers, the sanitizer and the problem type
// base (Options), and is built with NewRenderer. Like log/slog there is a
// package default (Default, SetDefault) and no other process-wide state: a
// Renderer mounted with its Handler method travels in the request context
// (WithRenderer, RendererFrom), and the package functions Write, Problem,
// Recover, Handle and Audit use the request's Renderer, else the default.
// Two applications with different modes and loggers can serve side by side
// in one process.
//
// When the request's context holds a recording OpenTelemetry span, Write
// records covet.problem.status, covet.problem.kind and covet.problem.code on
// it and, for a 5xx, the Error status and an "exception" event, with nothing
// Production would hide. Without a recording span this costs nothing.
//
// Recover is the panic-recovery stage and Handle adapts handlers that
// return errors. Authentication, authorization and security errors, and
// events passed to Audit, go to a separate audit logger when one is set.
//
// # One error shape everywhere
//
// Handlers return errors; errs.Write renders them. In Production (the default) a 5xx
// shows a generic detail and no context or stack; Staging and Development show more,
// always through the sanitizer, which redacts passwords, tokens, cookies, card numbers
// and key=secret pairs wherever they appear.
//
//	rd, err := errs.NewRenderer(errs.Options{Mode: errs.Production, Logger: logger, AuditLogger: audit})
//	if err != nil {
//		return err
//	}
//	r.Use(rd.Handler, errs.Recover)
//
//	var errNoNote = errs.New(errs.KindNotFound, "note_not_found", "No note has this ID.")
//
//	r.Method("GET", "/notes/{id}", errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
//		note, err := load(r.Context(), chi.URLParam(r, "id"))
//		if err != nil {
//			return errNoNote.WithPublic("id", chi.URLParam(r, "id"))
//		}
//		return json.NewEncoder(w).Encode(note)
//	}))
//
//	{"type":"about:blank","title":"Not Found","status":404,"detail":"No note has this ID.",
//	 "instance":"/notes/7","code":"note_not_found","correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736",
//	 "context":{"id":"7"}}
//
// errs.Recover turns a panic into a logged 500 (and aborts the connection instead
// when the response had already started); errors.Is(err, errs.KindRateLimit) and
// errors.As(err, &e) work through any wrapping.
//
// With an AuditLogger, every authentication, authorization and security error that
// errs.Write renders is recorded there, once: authn and authz record their refusals
// themselves with errs.Audit (reason, permission, resource) and mark the error with
// WithAudited, so Write does not add a second line for them.
package errs
