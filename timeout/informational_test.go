package timeout_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"testing"
	"time"
)

// informational is one 1xx response as the client received it.
type informational struct {
	code   int
	header textproto.MIMEHeader
}

// getRecording1xx sends GET url and returns the final response (body read)
// and the 1xx responses that came before it.
func getRecording1xx(t *testing.T, client *http.Client, url string) (*http.Response, []byte, []informational) {
	t.Helper()
	var mu sync.Mutex
	var got []informational
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, informational{code, header})
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	mu.Lock()
	defer mu.Unlock()
	return resp, body, got
}

// withOuterHeader stands for a stage outside the timeout that sets a
// header on every response (security headers, CORS).
func withOuterHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// A 103 Early Hints carries the headers the handler had set (and the outer
// stages'); the final response carries the handler's headers as they are
// when it starts, as net/http sends them without the stage: a hint the
// handler dropped after the 103 is not in the final response.
func TestEarlyHintsHeadersOverRealConnection(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			testEarlyHintsHeaders(t, proto == "HTTP/2")
		})
	}
}

func testEarlyHintsHeaders(t *testing.T, h2 bool) {
	s := newStage(t, time.Minute)
	srv := httptest.NewUnstartedServer(withOuterHeader(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Link", "</app.css>; rel=preload; as=style")
		h.Set("X-Kept", "yes")
		w.WriteHeader(http.StatusEarlyHints)
		h.Del("Link")
		h.Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "done")
	}))))
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	defer srv.Close()
	resp, body, hints := getRecording1xx(t, srv.Client(), srv.URL)
	if len(hints) != 1 || hints[0].code != http.StatusEarlyHints {
		t.Fatalf("1xx responses %+v, want one 103", hints)
	}
	if got := hints[0].header.Get("Link"); got != "</app.css>; rel=preload; as=style" {
		t.Errorf("103 Link %q", got)
	}
	if got := hints[0].header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("103 X-Frame-Options %q, want the outer stage's", got)
	}
	if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
		t.Fatalf("response over %s", resp.Proto)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "done" {
		t.Fatalf("final %d %q", resp.StatusCode, body)
	}
	if v, ok := resp.Header["Link"]; ok {
		t.Errorf("final response keeps the Link the handler dropped after the 103: %q", v)
	}
	if resp.Header.Get("X-Kept") != "yes" || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("final headers %v", resp.Header)
	}
}

// A handler that sent a 103 and then ran past the deadline: the 503 is the
// stage's response and carries none of the handler's headers.
func TestDeadlineAfterEarlyHintsDropsHandlerHeaders(t *testing.T) {
	t.Parallel()
	s := newStage(t, 50*time.Millisecond)
	release := make(chan struct{})
	srv := httptest.NewServer(withOuterHeader(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "renewed"})
		w.WriteHeader(http.StatusEarlyHints)
		<-release
	}))))
	defer srv.Close()
	defer close(release)
	// On a loaded machine the handler may reach its 103 only after the
	// deadline, which then sends no 103: ask again until one went first.
	var resp *http.Response
	var body []byte
	var hints []informational
	for range 20 {
		if resp, body, hints = getRecording1xx(t, srv.Client(), srv.URL); len(hints) > 0 {
			break
		}
	}
	if len(hints) != 1 || hints[0].header.Get("Link") == "" {
		t.Fatalf("1xx responses %+v, want one 103 with Link", hints)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.StatusCode)
	}
	decodeProblem(t, body)
	for _, k := range []string{"Link", "Set-Cookie"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("503 carries the handler's %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("503 lost the outer stage's header: %v", resp.Header)
	}
}

// A 1xx written once the deadline has passed is not sent: the answer is
// the stage's 503, whichever of the handler and the deadline's callback
// runs first.
func TestEarlyHintsAfterDeadlineNotSent(t *testing.T) {
	t.Parallel()
	s := newStage(t, time.Millisecond)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
	})))
	defer srv.Close()
	for i := 0; i < 30; i++ {
		resp, body, hints := getRecording1xx(t, srv.Client(), srv.URL)
		if len(hints) != 0 {
			t.Fatalf("run %d: 1xx after the deadline reached the client: %+v", i, hints)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("run %d: status %d", i, resp.StatusCode)
		}
		decodeProblem(t, body)
	}
}
