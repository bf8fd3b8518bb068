// Package brokertest checks that a wstools.Broker carries rooms between the
// instances of a service as the hub expects: every room message reaches
// every other subscribed instance exactly once, in order per publisher,
// rooms stay apart, unsubscribing stops delivery, a user's connections can
// be closed on every instance, and, when the test can stop the server,
// publishing fails fast while it is down and delivery resumes by itself
// once it is back. Run it from a broker's tests:
//
//	func TestMyBroker(t *testing.T) {
//		brokertest.Run(t, brokertest.Server{
//			NewBroker: func(t *testing.T) wstools.Broker { return newMyBroker(t) },
//		})
//	}
package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/wstools"
)

// Server is the broker service under test.
type Server struct {
	// NewBroker returns a new broker on the server, as a new instance of
	// the service would make it (its own connection), and closes it when
	// the test ends. Required.
	NewBroker func(t *testing.T) wstools.Broker
	// Kill stops the server so that connections are refused; Restart
	// starts a fresh one on the same address. When nil, the outage tests
	// are skipped.
	Kill, Restart func(t *testing.T)
	// Pause stops the server without closing its connections (SIGSTOP),
	// Resume continues it. When nil, the paused-server test is skipped.
	Pause, Resume func(t *testing.T)
}

// PublishDeadline is how long a Publish may take while the server is down.
const PublishDeadline = 1500 * time.Millisecond

// Run runs the conformance tests.
func Run(t *testing.T, srv Server) {
	t.Run("ExactlyOnceInOrder", func(t *testing.T) { testExactlyOnce(t, srv) })
	t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, srv) })
	t.Run("DistinctRooms", func(t *testing.T) { testDistinctRooms(t, srv) })
	t.Run("Hubs", func(t *testing.T) { testHubs(t, srv) })
	t.Run("Killed", func(t *testing.T) {
		if srv.Kill == nil || srv.Restart == nil {
			t.Skip("the server cannot be killed from this test")
		}
		testOutage(t, srv, srv.Kill, srv.Restart)
	})
	t.Run("Paused", func(t *testing.T) {
		if srv.Pause == nil || srv.Resume == nil {
			t.Skip("the server cannot be paused from this test")
		}
		testOutage(t, srv, srv.Pause, srv.Resume)
	})
}

// inbox records what one subscription received.
type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (in *inbox) deliver(msg []byte) {
	in.mu.Lock()
	in.msgs = append(in.msgs, string(msg))
	in.mu.Unlock()
}

func (in *inbox) all() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.msgs)
}

func (in *inbox) has(msg string) bool { return slices.Contains(in.all(), msg) }

func subscribe(t *testing.T, b wstools.Broker, room string) (*inbox, func()) {
	t.Helper()
	in := &inbox{}
	began := time.Now()
	cancel, err := b.Subscribe(room, in.deliver)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", room, err)
	}
	if took := time.Since(began); took > 100*time.Millisecond {
		t.Fatalf("Subscribe(%q) took %v: it must not wait for the network", room, took)
	}
	t.Cleanup(cancel)
	return in, cancel
}

var roomSeq struct {
	mu sync.Mutex
	n  int
}

// room returns a room name unique to this process and run.
func room(base string) string {
	roomSeq.mu.Lock()
	defer roomSeq.mu.Unlock()
	roomSeq.n++
	return fmt.Sprintf("bt-%s-%d-%d", base, time.Now().UnixNano(), roomSeq.n)
}

// ready publishes probes on room from pub until every inbox has one, so
// the subscriptions (applied in the background) are live.
func ready(t *testing.T, pub wstools.Broker, room string, inboxes ...*inbox) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		probe := fmt.Sprintf("probe-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = pub.Publish(ctx, room, []byte(probe))
		cancel()
		wait := time.Now().Add(100 * time.Millisecond)
		for time.Now().Before(wait) {
			all := true
			for _, in := range inboxes {
				all = all && in.has(probe)
			}
			if all {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions to %q not live after 15 s", room)
		}
	}
}

// payloads returns the messages of in that start with prefix, in order.
func payloads(in *inbox, prefix string) []string {
	var out []string
	for _, m := range in.all() {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func testExactlyOnce(t *testing.T, srv Server) {
	a, b, c := srv.NewBroker(t), srv.NewBroker(t), srv.NewBroker(t)
	r, other := room("once"), room("other")
	inA, _ := subscribe(t, a, r)
	inB, _ := subscribe(t, b, r)
	inC, _ := subscribe(t, c, r)
	inOther, _ := subscribe(t, c, other)
	ready(t, a, r, inA, inB, inC)
	ready(t, a, other, inOther)

	const n = 100
	var wg sync.WaitGroup
	for _, p := range []struct {
		name string
		b    wstools.Broker
	}{{"A", a}, {"B", b}} {
		wg.Go(func() {
			for i := range n {
				if err := p.b.Publish(context.Background(), r, fmt.Appendf(nil, "%s-%03d", p.name, i)); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, in := range []*inbox{inA, inB, inC} {
		deadline := time.Now().Add(10 * time.Second)
		for len(payloads(in, "A-"))+len(payloads(in, "B-")) < 2*n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // room for duplicates to show up
	for name, in := range map[string]*inbox{"A": inA, "B": inB, "C": inC} {
		for _, pub := range []string{"A-", "B-"} {
			got := payloads(in, pub)
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("%s%03d", pub, i)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("subscriber %s got %d messages of publisher %s, want each of %d once and in order; first: %v",
					name, len(got), strings.TrimSuffix(pub, "-"), n, got[:min(len(got), 5)])
			}
		}
	}
	if got := payloads(inOther, "A-"); len(got) != 0 {
		t.Fatalf("another room received %d messages", len(got))
	}
}

// testDistinctRooms checks that rooms whose names differ only in the
// punctuation a room name may hold never receive each other's messages: a
// broker that maps room names onto its own channel names must keep the
// mapping one to one.
func testDistinctRooms(t *testing.T, srv Server) {
	a, b := srv.NewBroker(t), srv.NewBroker(t)
	base := room("distinct")
	names := []string{base + ".x", base + "_x", base + ":x", base + "/x", base + "-x", base + "@x", base + "x"}
	inboxes := make([]*inbox, len(names))
	for i, name := range names {
		inboxes[i], _ = subscribe(t, b, name)
	}
	for i, name := range names {
		ready(t, a, name, inboxes[i])
	}
	for _, name := range names {
		if err := a.Publish(context.Background(), name, []byte("for "+name)); err != nil {
			t.Fatalf("Publish(%q): %v", name, err)
		}
	}
	for i, name := range names {
		eventually(t, "the message for "+name, func() bool { return inboxes[i].has("for " + name) })
	}
	time.Sleep(200 * time.Millisecond) // room for strays to show up
	for i, name := range names {
		if got := payloads(inboxes[i], "for "); len(got) != 1 {
			t.Errorf("room %q received %v, want only its own message", name, got)
		}
	}
}

func testUnsubscribe(t *testing.T, srv Server) {
	a, b := srv.NewBroker(t), srv.NewBroker(t)
	r := room("unsub")
	in, cancel := subscribe(t, b, r)
	ready(t, a, r, in)
	cancel()
	cancel() // twice is fine
	if err := a.Publish(context.Background(), r, []byte("after-cancel")); err != nil {
		t.Fatal(err)
	}
	// A second subscriber on the same broker still gets messages, and the
	// cancelled one does not.
	in2, _ := subscribe(t, b, r)
	ready(t, a, r, in2)
	if in.has("after-cancel") {
		t.Fatal("a cancelled subscription received a message")
	}
}

// testHubs runs two hubs, one per broker, with WebSocket clients.
func testHubs(t *testing.T, srv Server) {
	ha, urlA := serveHub(t, srv.NewBroker(t))
	hb, urlB := serveHub(t, srv.NewBroker(t))
	r := room("hubs")
	a := dial(t, urlA, "alice")
	b := dial(t, urlB, "bob")
	b2 := dial(t, urlB, "alice") // alice's second device, on the other instance
	for _, c := range []*client{a, b, b2} {
		c.join(t, r)
	}
	// Wait until both hubs receive each other's room messages.
	eventually(t, "rooms live across instances", func() bool {
		_ = ha.Broadcast(context.Background(), r, "probe", "x")
		_ = hb.Broadcast(context.Background(), r, "probe", "y")
		time.Sleep(50 * time.Millisecond)
		return a.count("probe", `"y"`) > 0 && b.count("probe", `"x"`) > 0
	})
	for i := range 20 {
		if err := ha.Broadcast(context.Background(), r, "chat", i); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "chat delivered", func() bool {
		return len(a.data("chat")) == 20 && len(b.data("chat")) == 20 && len(b2.data("chat")) == 20
	})
	time.Sleep(200 * time.Millisecond)
	for name, c := range map[string]*client{"a": a, "b": b, "b2": b2} {
		checkInOrder(t, name, c.data("chat"), 20)
	}

	// Closing a user's connections reaches every instance.
	n, err := ha.CloseUser(context.Background(), "alice", 4001, "logged out")
	if err != nil || n != 1 {
		t.Fatalf("CloseUser = %d, %v; want 1 local connection", n, err)
	}
	for name, c := range map[string]*client{"a": a, "b2": b2} {
		if code := c.closed(t); code != 4001 {
			t.Fatalf("alice's connection %s closed with %v, want 4001", name, code)
		}
	}
	if err := hb.Broadcast(context.Background(), r, "chat", "still here"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob still connected", func() bool { return b.count("chat", `"still here"`) == 1 })
}

// checkInOrder fails unless got is 0..n-1, once each, in order.
func checkInOrder(t *testing.T, name string, got []string, n int) {
	t.Helper()
	for i, d := range got {
		if d != fmt.Sprint(i) {
			t.Fatalf("client %s got %v, want 0..%d once each, in order", name, got, n-1)
		}
	}
	if len(got) != n {
		t.Fatalf("client %s got %d chat messages, want %d", name, len(got), n)
	}
}

func testOutage(t *testing.T, srv Server, down, up func(t *testing.T)) {
	a, b := srv.NewBroker(t), srv.NewBroker(t)
	r := room("outage")
	in, _ := subscribe(t, b, r)
	ready(t, a, r, in)

	down(t)
	for i := range 3 {
		began := time.Now()
		err := a.Publish(context.Background(), r, fmt.Appendf(nil, "during-%d", i))
		took := time.Since(began)
		if took > PublishDeadline {
			t.Fatalf("Publish with the server down took %v", took)
		}
		t.Logf("Publish with the server down: %v after %v", err, took)
	}
	// Subscribing while the server is down neither blocks nor fails; the
	// subscription becomes live when the server is back.
	later := room("later")
	inLater, _ := subscribe(t, b, later)

	up(t)
	ready(t, a, r, in)
	ready(t, a, later, inLater)
	for i := range 10 {
		if err := a.Publish(context.Background(), r, fmt.Appendf(nil, "after-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "delivery after the outage", func() bool { return len(payloads(in, "after-")) == 10 })
	time.Sleep(200 * time.Millisecond)
	if got := payloads(in, "after-"); len(got) != 10 || !slices.IsSorted(got) {
		t.Fatalf("after the outage: %v, want after-00..after-09 once each, in order", got)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serveHub(t *testing.T, b wstools.Broker) (*wstools.Hub, string) {
	t.Helper()
	var h *wstools.Hub
	rt := wstools.NewRouter()
	rt.Handle("join", func(_ context.Context, c *wstools.Conn, m wstools.Message) error {
		var in struct {
			Room string `json:"room"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		if err := h.Join(c, in.Room); err != nil {
			return err
		}
		return c.Send("joined", in.Room)
	})
	h, err := wstools.New(wstools.Options{
		Router: rt,
		Broker: b,
		Authenticate: func(r *http.Request) (string, error) {
			return r.URL.Query().Get("user"), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		ts.Close()
	})
	return h, "ws" + strings.TrimPrefix(ts.URL, "http")
}

type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// client is a WebSocket client that reads in the background.
type client struct {
	c      *websocket.Conn
	mu     sync.Mutex
	frames []frame
	joined chan struct{}
	done   chan struct{}
	err    error
}

func dial(t *testing.T, url, user string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"?user="+user, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	cl := &client{c: c, joined: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(cl.done)
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				cl.mu.Lock()
				cl.err = err
				cl.mu.Unlock()
				return
			}
			var f frame
			_ = json.Unmarshal(msg, &f)
			if f.Type == "joined" {
				cl.joined <- struct{}{}
				continue
			}
			cl.mu.Lock()
			cl.frames = append(cl.frames, f)
			cl.mu.Unlock()
		}
	}()
	return cl
}

func (cl *client) join(t *testing.T, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, []byte(`{"type":"join","room":"`+room+`"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cl.joined:
	case <-ctx.Done():
		t.Fatal("join: no answer")
	}
}

func (cl *client) data(typ string) []string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var out []string
	for _, f := range cl.frames {
		if f.Type == typ {
			out = append(out, string(f.Data))
		}
	}
	return out
}

func (cl *client) count(typ, data string) int {
	n := 0
	for _, d := range cl.data(typ) {
		if d == data {
			n++
		}
	}
	return n
}

// closed waits for the connection to end and returns its close code.
func (cl *client) closed(t *testing.T) websocket.StatusCode {
	t.Helper()
	select {
	case <-cl.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not closed")
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return websocket.CloseStatus(cl.err)
}
