package observe

import (
	"net/http"

	"github.com/covetgo/covet/internal/httpx"
)

// StatusWriter records the status and the body size of a response, for
// stages that report on it after the handler returns (AccessLog, metrics):
// Status returns the final status written (or 101), or 0 when the handler
// wrote nothing; Bytes how many body bytes were written; Hijacked whether
// the handler took the connection over. It keeps http.Flusher,
// http.Hijacker and io.ReaderFrom working and exposes the original writer
// through Unwrap, so http.ResponseController sees through it.
// Informational codes such as 103 Early Hints are not the response's
// status. Writers are pooled: get one with NewStatusWriter and Release it
// once the handler has returned and its numbers are read.
//
// It is the module's one ResponseWriter wrapper, shared with the other
// stages.
type StatusWriter = httpx.Writer

// NewStatusWriter returns a pooled StatusWriter around w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return httpx.Acquire(w, nil)
}
