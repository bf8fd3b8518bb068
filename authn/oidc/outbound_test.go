package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/covetgo/covet/authn"
)

// cleartextSink is a plain-http server that counts the requests that
// reach it and answers like a friendly provider would.
func cleartextSink(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":true,"sub":"mallory","access_token":"x","token_type":"Bearer"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestCredentialsStayOnTLS: a provider endpoint that answers 307 to an
// http:// URL must not receive the client credentials, the code or the
// token there, and its answer is not trusted.
func TestCredentialsStayOnTLS(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	sink, hits := cleartextSink(t)

	in, err := NewIntrospector(IntrospectorOptions{URL: p.srv.URL + "/introspect", ClientID: testClientID, ClientSecret: testClientSecret, Client: p.srv.Client(), Audience: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	o := newTestOIDC(t, p)
	p.mu.Lock()
	p.moved["/introspect"] = sink.URL + "/introspect"
	p.moved["/token"] = sink.URL + "/token"
	p.mu.Unlock()

	if pr, err := in.Verify(context.Background(), "some-token"); !errors.Is(err, authn.ErrUnavailable) {
		t.Errorf("introspection redirected to http: %+v, %v", pr, err)
	}
	authURL, cookie := startLogin(t, o, "")
	code, state := p.authorize(t, authURL, "alice")
	if pr, _, err := callback(o, "code="+code+"&state="+state, cookie); authn.Reason(err) != "exchange" {
		t.Errorf("token exchange redirected to http: %+v, %v (%s)", pr, err, authn.Reason(err))
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests with credentials reached the plain-http server", n)
	}
}
