// Package bodylimit caps the size of request bodies and answers 413
// problem+json when a body is larger than the cap.
//
// A request that declares a Content-Length over the cap is refused before
// the handler runs and before a byte of the body is read. Any other body
// (chunked, or HTTP/2 without a length) is wrapped in http.MaxBytesReader, so
// reading past the cap fails with *http.MaxBytesError, and net/http closes
// the connection after the response instead of draining an unbounded body.
// Whatever the handler then does, the client gets 413: a handler that passes
// the error to errs.Write (or decodes through validate) answers 413 itself,
// and one that answers something else, or nothing, before it started a
// response has its answer replaced by the stage's 413 problem
// (code "payload_too_large").
//
// A 413 that replaces the handler's answer is the stage's own response: it
// carries the headers the response had when the request reached the stage
// (what the stages outside set: security headers, CORS, Vary) and the
// problem's own, and none of the headers the handler or a stage inside set
// for the answer it meant to send, such as a renewed session cookie,
// Location, Content-Disposition, ETag or Cache-Control.
//
// Mount it per route with the cap each route needs; smaller caps inside
// (such as validate's own body limit) still apply:
//
//	small, _ := bodylimit.New(bodylimit.Options{MaxBytes: 64 << 10})
//	upload, _ := bodylimit.New(bodylimit.Options{MaxBytes: 50 << 20})
//	r.With(small.Handler).Post("/notes", createNote)
//	r.With(upload.Handler).Put("/files/{name}", putFile)
package bodylimit
