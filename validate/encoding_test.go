package validate

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// TestBodyContentEncoding: a compressed body is refused as such (415 with
// Accept-Encoding: identity, RFC 7694), not reported as JSON that is
// malformed at byte 0; "identity" is no coding at all.
func TestBodyContentEncoding(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(goodOrder))
	_ = zw.Close()
	tests := []struct {
		name     string
		encoding []string
		body     string
		status   int
	}{
		{"gzip", []string{"gzip"}, gz.String(), 415},
		{"br", []string{"br"}, goodOrder, 415},
		{"gzip upper", []string{"GZIP"}, gz.String(), 415},
		{"two codings", []string{"identity", "gzip"}, gz.String(), 415},
		{"list", []string{"gzip, identity"}, gz.String(), 415},
		{"identity", []string{"identity"}, goodOrder, 204},
		{"identity case", []string{" Identity "}, goodOrder, 204},
		{"empty", []string{""}, goodOrder, 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(tc.body)
			r.Header["Content-Encoding"] = tc.encoding
			w, p := serve(t, orderHandler(b), r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 415 {
				return
			}
			if p.Code != "unsupported_media_type" || !strings.Contains(p.Detail, "Content-Encoding") {
				t.Fatalf("problem %+v", p)
			}
			if got := w.Header().Get("Accept-Encoding"); got != "identity" {
				t.Fatalf("Accept-Encoding %q, want identity", got)
			}
		})
	}
}
