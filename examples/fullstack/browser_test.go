package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/covetgo/covet/examples/internal/headless"
)

// otherOrigin serves a page on another port that calls the app's API with
// the user's cookies and writes the outcome into its title.
func otherOrigin(t *testing.T, ln net.Listener, appURL string) string {
	page := fmt.Sprintf(`<!doctype html><title>pending</title><script>
fetch(%q + "/api/me", {credentials: "include"})
  .then(r => r.json()).then(j => { document.title = "ok:" + j.email; })
  .catch(() => { document.title = "blocked"; });
</script>`, appURL)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestBrowser(t *testing.T) {
	exe := headless.Chromium(t)
	allowedLn, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedLn, _ := net.Listen("tcp", "127.0.0.1:0")
	allowed := "http://" + allowedLn.Addr().String()
	// With tracing on: the stage sits outside everything, WebSocket included.
	in, exp := startTraced(t, testEnv(t, map[string]string{"COVET_CORS_ORIGINS": allowed}))
	otherOrigin(t, allowedLn, in.URL)
	refused := otherOrigin(t, refusedLn, in.URL)

	opts := headless.Options(t, exe)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	const email = "browser@example.com"
	err := chromedp.Do(ctx,
		chromedp.Navigate(in.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("register")),
		chromedp.SendKeys(chromedp.CSS(`#register input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`#register input[name=name]`), "Browser"),
		chromedp.SendKeys(chromedp.CSS(`#register input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#register button`)),
		chromedp.WaitVisible(`//p[@id="status" and contains(., "Registered")]`),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`#login button`)),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
	if err != nil {
		t.Fatalf("register and log in: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("whoami")))
	if err != nil || !strings.Contains(status, email) {
		t.Fatalf("whoami %q: %v", status, err)
	}
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, "session") {
		t.Fatalf("the session cookie is readable from JavaScript: %q", cookies)
	}

	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#new-note input[name=title]`), "Written in a browser"),
		chromedp.SendKeys(chromedp.CSS(`#new-note textarea[name=body]`), "<b>bold</b><script>alert(1)</script>"),
		chromedp.Click(chromedp.CSS(`#new-note button`)),
		chromedp.WaitVisible(`//ul[@id="note-list"]/li[contains(., "Written in a browser")]`),
		chromedp.WaitVisible(`//small[@id="chat-state" and text()="online"]`),
	)
	if err != nil {
		t.Fatalf("create a note: %v", err)
	}

	// Another user speaks in the lobby from outside the browser.
	other := newClient(t, in.URL)
	other.register("speaker@example.com", "Speaker", password)
	other.login("speaker@example.com", password)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	ws := dialChat(wctx, t, in.URL, other.token)
	send(wctx, t, ws, map[string]string{"type": "join", "room": "lobby"})
	waitPresence(t, in.app, "lobby", 2)
	send(wctx, t, ws, map[string]string{"type": "say", "room": "lobby", "text": "hello browser"})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`//ul[@id="messages"]/li[contains(., "Speaker: hello browser")]`)); err != nil {
		t.Fatalf("chat message in the page: %v", err)
	}

	// A page on an allowed origin reads the API with the user's cookie; a
	// page on another origin is blocked by the browser itself.
	if title := pageTitle(ctx, t, allowed); title != "ok:"+email {
		t.Fatalf("allowed origin: title %q", title)
	}
	if title := pageTitle(ctx, t, refused); title != "blocked" {
		t.Fatalf("refused origin: title %q, want blocked", title)
	}
	tracedNote := false
	spans := flushed(t, in, exp)
	for _, s := range spans {
		if s.Name == "POST /api/notes" {
			for _, c := range spans {
				tracedNote = tracedNote || (c.Parent.SpanID() == s.SpanContext.SpanID() && c.Name == "insert notes")
			}
		}
	}
	if !tracedNote {
		t.Errorf("no POST /api/notes span with its SQL insert among %d spans", len(spans))
	}
}

// pageTitle opens url and waits until the page's script has set the title.
func pageTitle(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/")); err != nil {
		t.Fatal(err)
	}
	for {
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		if title != "pending" && title != "" {
			return title
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: the page never finished: %v", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
