// Package timeout puts a deadline on each request and answers 503
// problem+json when the handler has not started its response by then.
//
// The stage sets a deadline on the request context, so database calls,
// outgoing requests and anything else that honours the context give up on
// time. If the deadline passes before the handler has written a status, a
// body byte or flushed, the stage answers at once with a 503 problem
// (code "request_timeout", with the correlation ID) and every later write of
// the handler fails with http.ErrHandlerTimeout. When the handler is
// reading the request body at that moment, the client is the slow one: the
// answer is 408 (code "request_body_timeout"), a client error, so a slow
// upload does not count as the server's failure. A response that had already
// started when the deadline passed is left alone: the handler sees the
// cancelled context and decides. An informational response (such as 103
// Early Hints) does not start the response: it goes out with the headers
// the handler has set so far, which reach the final response only as they
// stand when it starts and never the 503; a 1xx written after the deadline
// is not sent.
//
// Unlike http.TimeoutHandler, the stage does not buffer the response: the
// handler's writes go straight to the connection, so streaming, Flush,
// http.ResponseController and Hijack keep working. It runs the handler on the
// request's own goroutine (a panic reaches errs.Recover as usual), which
// means the connection is released only when the handler returns: the client
// gets its 503 on time, but a handler that ignores its context still holds
// the goroutine. Unlike chi's middleware.Timeout, the 503 does not wait for
// the handler to return.
//
// Mount it per route group with the deadline each group needs; leave it off
// WebSocket and other long-lived routes, whose context it would cancel:
//
//	t, err := timeout.New(timeout.Options{Timeout: 5 * time.Second})
//	r.With(t.Handler).Get("/reports/{id}", report)
package timeout
