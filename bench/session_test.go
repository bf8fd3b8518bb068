package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/covetgo/covet/session"
	"github.com/gorilla/sessions"
)

// sessionWriter is a ResponseWriter that allocates nothing per request.
type sessionWriter struct{ h http.Header }

func (w *sessionWriter) Header() http.Header         { return w.h }
func (w *sessionWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *sessionWriter) WriteHeader(int)             {}

var (
	sessionHashKey = bytes.Repeat([]byte("h"), 32)
	sessionOK      = []byte("ok")
)

// runSession seeds a session with user=alice through h, then serves the
// same request, with that session's cookie, b.N times. Each iteration gets
// a fresh shallow copy of the request (gorilla/sessions caches sessions in
// the request it is given), the same for every library.
func runSession(b *testing.B, h http.Handler) {
	b.Helper()
	seed := httptest.NewRequest(http.MethodGet, "/seed", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, seed)
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		b.Fatal("seeding set no cookie")
	}
	base := httptest.NewRequest(http.MethodGet, "/", nil)
	base.Header.Set("Cookie", cookies[0].Name+"="+cookies[0].Value)
	w := &sessionWriter{h: make(http.Header, 4)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		r := *base
		h.ServeHTTP(w, &r)
	}
}

func covetSession(b *testing.B, write bool) http.Handler {
	m, err := session.New(session.Options{HashKeys: [][]byte{sessionHashKey}})
	if err != nil {
		b.Fatal(err)
	}
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		switch {
		case r.URL.Path == "/seed":
			s.Set("user", "alice")
		case write:
			s.Set("counter", "x")
		default:
			if v, _ := session.Get[string](s, "user"); v != "alice" {
				panic("session lost")
			}
		}
		_, _ = w.Write(sessionOK)
	}))
}

func scsSession(b *testing.B, write bool) http.Handler {
	sm := scs.New() // memstore
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/seed":
			sm.Put(r.Context(), "user", "alice")
		case write:
			sm.Put(r.Context(), "counter", "x")
		default:
			if sm.GetString(r.Context(), "user") != "alice" {
				panic("session lost")
			}
		}
		_, _ = w.Write(sessionOK)
	}))
}

func gorillaSession(b *testing.B, write bool, keys ...[]byte) http.Handler {
	store := sessions.NewCookieStore(keys...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session")
		if err != nil {
			panic(err)
		}
		switch {
		case r.URL.Path == "/seed":
			s.Values["user"] = "alice"
			_ = s.Save(r, w)
		case write:
			s.Values["counter"] = "x"
			_ = s.Save(r, w)
		default:
			if s.Values["user"] != "alice" {
				panic("session lost")
			}
		}
		_, _ = w.Write(sessionOK)
	})
}

func BenchmarkSession_Read_Covet(b *testing.B) { runSession(b, covetSession(b, false)) }
func BenchmarkSession_Read_SCS(b *testing.B)   { runSession(b, scsSession(b, false)) }
func BenchmarkSession_Read_GorillaCookie(b *testing.B) {
	runSession(b, gorillaSession(b, false, sessionHashKey))
}

func BenchmarkSession_Write_Covet(b *testing.B) { runSession(b, covetSession(b, true)) }
func BenchmarkSession_Write_SCS(b *testing.B)   { runSession(b, scsSession(b, true)) }
func BenchmarkSession_Write_GorillaCookie(b *testing.B) {
	runSession(b, gorillaSession(b, true, sessionHashKey))
}

// The encrypted CookieStore (hash and block key), as gorilla's docs advise.
func BenchmarkSession_Write_GorillaCookieEncrypted(b *testing.B) {
	runSession(b, gorillaSession(b, true, sessionHashKey, bytes.Repeat([]byte("e"), 32)))
}

// Covet's own stateless cookie store, for comparison with gorilla's.
func BenchmarkSession_Write_CovetCookie(b *testing.B) {
	cs, err := session.NewCookieStore(session.CookieStoreOptions{Keys: [][]byte{bytes.Repeat([]byte("e"), 32)}})
	if err != nil {
		b.Fatal(err)
	}
	m, _ := session.New(session.Options{Stateless: cs})
	runSession(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if r.URL.Path == "/seed" {
			s.Set("user", "alice")
		} else {
			s.Set("counter", "x")
		}
		_, _ = w.Write(sessionOK)
	})))
}
