// Package spantest is a recording OpenTelemetry span for tests, built on
// the API's no-op span so no SDK is needed: a stage under test sees a
// span that records, and the test reads back the attributes it set.
package spantest

import (
	"maps"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace/noop"
)

// Span records the attributes set on it, as strings. Safe for concurrent
// use.
type Span struct {
	noop.Span
	mu    sync.Mutex
	attrs map[attribute.Key]string
}

// IsRecording reports true, so stages record on the span.
func (s *Span) IsRecording() bool { return true }

// SetAttributes records kv.
func (s *Span) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attrs == nil {
		s.attrs = map[attribute.Key]string{}
	}
	for _, a := range kv {
		s.attrs[a.Key] = a.Value.String()
	}
}

// Attrs returns a copy of the attributes recorded so far.
func (s *Span) Attrs() map[attribute.Key]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.attrs)
}

// WithPrefix returns the attributes whose key starts with prefix.
func WithPrefix(attrs map[attribute.Key]string, prefix string) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for k, v := range attrs {
		if strings.HasPrefix(string(k), prefix) {
			out[k] = v
		}
	}
	return out
}

// ProblemStatus is the covet.problem.status errs records for a response
// with status: none for a success.
func ProblemStatus(status int) string {
	if status < 400 {
		return ""
	}
	return strconv.Itoa(status)
}
