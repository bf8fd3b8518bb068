package observe

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func serveID(t testing.TB, s *RequestIDStage, header string, values ...string) (ctxID, respID string) {
	t.Helper()
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxID = RequestIDFrom(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, v := range values {
		req.Header.Add(header, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return ctxID, rec.Header().Get(header)
}

func isFresh(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune(hexDigits, c) {
			return false
		}
	}
	return true
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		name   string
		in     []string
		keep   bool
		ignore bool
	}{
		{"none: fresh", nil, false, false},
		{"valid kept", []string{"abc-123_DEF.x:y/z+=@"}, true, false},
		{"64 chars kept", []string{strings.Repeat("b", 64)}, true, false},
		{"65 chars replaced", []string{long}, false, false},
		{"space replaced", []string{"a b"}, false, false},
		{"CRLF replaced", []string{"a\r\nSet-Cookie: x=y"}, false, false},
		{"NUL replaced", []string{"a\x00b"}, false, false},
		{"non-ascii replaced", []string{"идентификатор"}, false, false},
		{"quote replaced", []string{`a"b`}, false, false},
		{"empty replaced", []string{""}, false, false},
		{"two values replaced", []string{"a", "b"}, false, false},
		{"ignore incoming", []string{"valid-id"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewRequestID(RequestIDOptions{IgnoreIncoming: tt.ignore, TrustAllIncoming: !tt.ignore})
			if err != nil {
				t.Fatal(err)
			}
			ctxID, respID := serveID(t, s, "X-Request-ID", tt.in...)
			if ctxID != respID {
				t.Fatalf("context %q and response %q differ", ctxID, respID)
			}
			if tt.keep {
				if ctxID != tt.in[0] {
					t.Fatalf("kept %q, want %q", ctxID, tt.in[0])
				}
				return
			}
			if !isFresh(ctxID) {
				t.Fatalf("want a fresh 32-hex ID, got %q", ctxID)
			}
		})
	}
}

func TestRequestIDCustomHeaderAndUniqueness(t *testing.T) {
	t.Parallel()
	s, err := NewRequestID(RequestIDOptions{Header: "x-correlation-id", TrustAllIncoming: true})
	if err != nil {
		t.Fatal(err)
	}
	ctxID, respID := serveID(t, s, "X-Correlation-Id", "corr-1")
	if ctxID != "corr-1" || respID != "corr-1" {
		t.Fatalf("%q %q", ctxID, respID)
	}
	seen := map[string]bool{}
	for range 1000 {
		id, _ := serveID(t, defaultRequestID, "X-Request-ID")
		if seen[id] {
			t.Fatalf("duplicate ID %q", id)
		}
		seen[id] = true
	}
	if _, err := NewRequestID(RequestIDOptions{Header: "bad header"}); err == nil {
		t.Fatal("an invalid header name must be refused")
	}
}

func TestRequestIDFromOutsideRequest(t *testing.T) {
	t.Parallel()
	if RequestIDFrom(context.Background()) != "" {
		t.Fatal("want empty ID without the stage")
	}
	if RequestIDFrom(WithRequestID(context.Background(), "job-1")) != "job-1" {
		t.Fatal("WithRequestID")
	}
	if id := NewRequestIDString(); !isFresh(id) {
		t.Fatalf("NewRequestIDString = %q", id)
	}
}

func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"abc", "a b", "a\r\nb", strings.Repeat("x", 64), strings.Repeat("x", 65), "\xff", ""} {
		f.Add(s)
	}
	trustAll, err := NewRequestID(RequestIDOptions{TrustAllIncoming: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ctxID, respID := serveID(t, trustAll, "X-Request-ID", in)
		if ctxID != respID {
			t.Fatalf("context %q and response %q differ", ctxID, respID)
		}
		if ValidRequestID(in) {
			if ctxID != in {
				t.Fatalf("valid ID %q not kept", in)
			}
		} else if !isFresh(ctxID) {
			t.Fatalf("invalid ID %q: got %q, want a fresh one", in, ctxID)
		}
		if len(ctxID) > MaxRequestIDLength || strings.ContainsAny(ctxID, " \r\n\x00\t\"") {
			t.Fatalf("unsafe ID %q", ctxID)
		}
	})
}

// TestRequestIDNotChosenByClient: by default, and from any peer the
// options do not trust, an incoming ID is replaced by a fresh one and
// recorded only as a separate access-log attribute.
func TestRequestIDNotChosenByClient(t *testing.T) {
	t.Parallel()
	gateway := netip.MustParsePrefix("10.0.0.0/8")
	byProxies, err := NewRequestID(RequestIDOptions{TrustedProxies: []netip.Prefix{gateway}})
	if err != nil {
		t.Fatal(err)
	}
	byFunc, err := NewRequestID(RequestIDOptions{TrustIncoming: func(r *http.Request) bool { return r.RemoteAddr == "10.1.2.3:443" }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stage  *RequestIDStage
		remote string
		in     string
		keep   bool
	}{
		{"default stage, client id", defaultRequestID, "198.51.100.7:1", "victims-request-id", false},
		{"default stage, from a private address", defaultRequestID, "10.1.2.3:443", "victims-request-id", false},
		{"trusted proxy keeps", byProxies, "10.1.2.3:443", "edge-1", true},
		{"trusted proxy, mapped peer keeps", byProxies, "[::ffff:10.1.2.3]:443", "edge-1", true},
		{"untrusted peer replaced", byProxies, "198.51.100.7:1", "edge-1", false},
		{"unparsable peer replaced", byProxies, "pipe", "edge-1", false},
		{"trust func keeps", byFunc, "10.1.2.3:443", "edge-2", true},
		{"trust func refuses", byFunc, "10.1.2.4:443", "edge-2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctxID string
			var offered []slog.Attr
			h := tt.stage.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				ctxID = RequestIDFrom(r.Context())
				if rec := recordFrom(r.Context()); rec != nil {
					offered = rec.addedAttrs()
				}
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Request-ID", tt.in)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Header().Get("X-Request-ID") != ctxID {
				t.Fatalf("response %q, context %q", rec.Header().Get("X-Request-ID"), ctxID)
			}
			if tt.keep {
				if ctxID != tt.in || len(offered) != 0 {
					t.Fatalf("id %q offered %v, want %q kept", ctxID, offered, tt.in)
				}
				return
			}
			if !isFresh(ctxID) {
				t.Fatalf("the client chose the ID: %q", ctxID)
			}
			if len(offered) != 1 || offered[0].Key != OfferedRequestIDAttr || offered[0].Value.String() != tt.in {
				t.Fatalf("offered ID not recorded apart: %v", offered)
			}
		})
	}
	if _, err := NewRequestID(RequestIDOptions{IgnoreIncoming: true, TrustAllIncoming: true}); err == nil {
		t.Error("IgnoreIncoming with TrustAllIncoming must be refused")
	}
	if _, err := NewRequestID(RequestIDOptions{TrustedProxies: []netip.Prefix{{}}}); err == nil {
		t.Error("an invalid prefix must be refused")
	}
}

type nopWriter struct{ h http.Header }

func (n *nopWriter) Header() http.Header         { return n.h }
func (n *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (n *nopWriter) WriteHeader(int)             {}

func BenchmarkRequestID(b *testing.B) {
	h := RequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := &nopWriter{h: http.Header{}}
	fresh := httptest.NewRequest(http.MethodGet, "/", nil)
	incoming := httptest.NewRequest(http.MethodGet, "/", nil)
	incoming.Header.Set("X-Request-ID", "0123456789abcdef0123456789abcdef")
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, fresh)
		}
	})
	b.Run("incoming", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, incoming)
		}
	})
}

// TestRequestIDRefusesTrustingEveryPeer: a trusted network holding every
// address is trust in every client, which TrustAllIncoming says openly; as
// a proxy network it is a mistake, refused.
func TestRequestIDRefusesTrustingEveryPeer(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96"} {
		_, err := NewRequestID(RequestIDOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix(p)}})
		if err == nil || !strings.Contains(err.Error(), "TrustAllIncoming") {
			t.Errorf("TrustedProxies %s: %v", p, err)
		}
	}
	if _, err := NewRequestID(RequestIDOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}); err != nil {
		t.Fatal(err)
	}
}
