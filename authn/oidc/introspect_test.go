package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/authn"
)

func newTestIntrospector(t *testing.T, p *testProvider, clock *time.Time, o IntrospectorOptions) *Introspector {
	t.Helper()
	o.URL, o.ClientID, o.ClientSecret, o.Client = p.srv.URL+"/introspect", testClientID, testClientSecret, p.srv.Client()
	if o.Audience == nil && !o.AnyAudience {
		o.Audience = []string{"api"}
	}
	if clock != nil {
		o.Now = func() time.Time { return *clock }
	}
	in, err := NewIntrospector(o)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestIntrospectorTokenKinds: only access tokens for this API pass.
func TestIntrospectorTokenKinds(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	exp := time.Now().Add(time.Hour).Unix()
	p.active["access"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}, TokenType: "access_token"}
	p.active["bearer"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}, TokenType: "Bearer"}
	p.active["untyped"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}}
	p.active["refresh"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}, TokenType: "refresh_token"}
	p.active["refresh-use"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}, TokenType: "Bearer", TokenUse: "refresh_token"}
	p.active["id"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, Aud: authn.Scopes{"api"}, TokenType: "id_token"}
	p.active["no-aud"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: exp, TokenType: "access_token"}
	in := newTestIntrospector(t, p, nil, IntrospectorOptions{})
	for token, reason := range map[string]string{
		"access": "", "bearer": "", "untyped": "",
		"refresh": "bad_token_type", "refresh-use": "bad_token_type", "id": "bad_token_type", "no-aud": "bad_audience",
	} {
		t.Run(token, func(t *testing.T) {
			pr, err := in.Verify(context.Background(), token)
			if reason == "" && err != nil || reason != "" && authn.Reason(err) != reason {
				t.Fatalf("Verify = %+v, %v (%s); want %q", pr, err, authn.Reason(err), reason)
			}
		})
	}
	any := newTestIntrospector(t, p, nil, IntrospectorOptions{AnyAudience: true})
	if _, err := any.Verify(context.Background(), "no-aud"); err != nil {
		t.Fatalf("AnyAudience: %v", err)
	}
	if _, err := NewIntrospector(IntrospectorOptions{URL: p.srv.URL + "/introspect", ClientID: "a", ClientSecret: "b"}); err == nil {
		t.Fatal("an introspector without an audience was accepted")
	}
}

// TestIntrospectorCoalesces: concurrent checks of one token make one
// upstream call, and an inactive answer is reused for InactiveTTL.
func TestIntrospectorCoalesces(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	// The callers run in a synctest bubble, with the provider's handler
	// served in process, so synctest.Wait tells when every caller is
	// blocked on the one call in flight.
	synctest.Test(t, func(t *testing.T) {
		p.mu.Lock()
		p.active["good"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: time.Now().Add(time.Hour).Unix(), Aud: authn.Scopes{"api"}}
		gate := make(chan struct{})
		p.gate = gate
		p.mu.Unlock()
		in, err := NewIntrospector(IntrospectorOptions{
			URL: p.srv.URL + "/introspect", ClientID: testClientID, ClientSecret: testClientSecret,
			Audience: []string{"api"}, Client: &http.Client{Transport: handlerTransport{p.srv.Config.Handler}},
		}) // no positive cache
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, err := in.Verify(context.Background(), "good")
				errc <- err
			})
		}
		synctest.Wait() // all n wait for the call blocked at the gate
		close(gate)
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		if h := p.hits.Load(); h != 1 {
			t.Fatalf("%d concurrent checks of one token made %d upstream calls", n, h)
		}
		p.mu.Lock()
		p.gate = nil
		p.mu.Unlock()
	})

	clock := time.Now()
	in := newTestIntrospector(t, p, &clock, IntrospectorOptions{}) // no positive cache
	// Inactive answers are remembered for InactiveTTL (5 s by default).
	p.hits.Store(0)
	for range 10 {
		if _, err := in.Verify(context.Background(), "unknown"); authn.Reason(err) != "inactive" {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if h := p.hits.Load(); h != 1 {
		t.Fatalf("10 checks of an inactive token made %d upstream calls", h)
	}
	clock = clock.Add(6 * time.Second)
	if _, err := in.Verify(context.Background(), "unknown"); !errors.Is(err, authn.ErrInvalidToken) || p.hits.Load() != 2 {
		t.Fatalf("after InactiveTTL: %v, %d calls", err, p.hits.Load())
	}
}

// handlerTransport serves requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	ht.h.ServeHTTP(w, r)
	return w.Result(), nil
}
