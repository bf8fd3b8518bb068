package outbound

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientRedirects(t *testing.T) {
	t.Parallel()
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
	}))
	defer plain.Close()
	var tlsURL string
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, plain.URL+"/stolen", http.StatusTemporaryRedirect)
		case "/same":
			http.Redirect(w, r, tlsURL+"/ok", http.StatusTemporaryRedirect)
		case "/other-host":
			http.Redirect(w, r, strings.Replace(tlsURL, "127.0.0.1", "localhost", 1)+"/ok", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, tlsURL+"/loop", http.StatusTemporaryRedirect)
		case "/ok":
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer tlsSrv.Close()
	tlsURL = tlsSrv.URL

	c := Client(tlsSrv.Client(), time.Second)
	if c.Timeout != time.Second {
		t.Fatalf("timeout %v", c.Timeout)
	}
	for path, ok := range map[string]bool{"/to-http": false, "/same": true, "/other-host": false, "/loop": false} {
		req, _ := http.NewRequest("POST", tlsURL+path, strings.NewReader("token=secret"))
		req.SetBasicAuth("client", "secret")
		resp, err := c.Do(req)
		if ok {
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("%s: %v", path, err)
			}
		} else if err == nil || !errors.Is(err, ErrRedirect) {
			t.Errorf("%s: followed (%v)", path, err)
		}
		if resp != nil {
			_ = resp.Body.Close()
		}
	}
	if n := plainHits.Load(); n != 0 {
		t.Fatalf("the plain-http server got %d requests", n)
	}
	hosts := Client(tlsSrv.Client(), time.Second, "localhost")
	if resp, err := hosts.Get(tlsURL + "/same"); !errors.Is(err, ErrRedirect) {
		t.Errorf("redirect to a host outside the list followed: %v", err)
		if resp != nil {
			_ = resp.Body.Close()
		}
	}
}
