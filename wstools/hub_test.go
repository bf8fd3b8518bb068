package wstools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/errs"
)

func TestRoomsAndSequence(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h)})
	a, b, c := dial(t, url, nil), dial(t, url, nil), dial(t, url, nil)
	join(t, a, "lobby")
	join(t, b, "lobby")
	join(t, c, "other")
	join(t, a, "lobby") // twice is a no-op
	if got := h.Presence("lobby"); got != 2 {
		t.Fatalf("Presence(lobby) = %d", got)
	}
	if got := h.Presence("nowhere"); got != 0 {
		t.Fatalf("Presence(nowhere) = %d", got)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := h.Broadcast(ctx, "lobby", "chat", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range []*websocket.Conn{a, b} {
		readLobbyChats(t, conn, 3)
	}
	// c is in another room: the next thing it sees is the hub-wide broadcast.
	if err := h.BroadcastAll(ctx, "notice", "maintenance"); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []*websocket.Conn{a, b, c} {
		if f := readFrame(t, conn); f.Type != "notice" || f.Room != "" || string(f.Data) != `"maintenance"` {
			t.Fatalf("notice = %+v", f)
		}
	}
	send(t, b, `{"type":"leave","room":"lobby"}`)
	if f := readFrame(t, b); f.Type != "left" {
		t.Fatalf("leave: %+v", f)
	}
	if got := h.Presence("lobby"); got != 1 {
		t.Fatalf("Presence after leave = %d", got)
	}
	_ = h.Broadcast(ctx, "lobby", "chat", 4)
	if f := readFrame(t, a); f.Seq != 4 {
		t.Fatalf("after leave: %+v", f)
	}
	_ = a.Close(websocket.StatusNormalClosure, "")
	eventually(t, "room emptied", func() bool { return h.Presence("lobby") == 0 && h.Stats().Rooms == 1 })
}

// readLobbyChats reads messages 1..n broadcast to the lobby as {"n":i}.
func readLobbyChats(t *testing.T, conn *websocket.Conn, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		f := readFrame(t, conn)
		if f.Type != "chat" || f.Room != "lobby" || f.Seq != uint64(i) || string(f.Data) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("message %d = %+v", i, f)
		}
	}
}

func TestBadNamesRefused(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h)})
	c := dial(t, url, nil)
	ctx := context.Background()
	for _, bad := range []string{"", "a b", strings.Repeat("r", MaxRoomLength+1), `x"y`} {
		if err := h.Broadcast(ctx, bad, "chat", 1); err == nil {
			t.Fatalf("Broadcast to %q accepted", bad)
		}
	}
	if err := h.Broadcast(ctx, "lobby", "bad type", 1); err == nil {
		t.Fatal("bad type accepted")
	}
	send(t, c, `{"type":"join","room":"has space","id":"j"}`)
	if f := readFrame(t, c); f.Error == nil || f.Error.Code != "ws_invalid_room" {
		t.Fatalf("join bad room: %+v", f)
	}
}

// TestBroadcastJSONRefusesBadData: data that is not JSON, or not UTF-8
// (which encoding/json accepts), reaches no one.
func TestBroadcastJSONRefusesBadData(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h)})
	a := dial(t, url, nil)
	join(t, a, "lobby")
	ctx := context.Background()
	for _, bad := range []string{`{"a":`, "\"\xff\"", "{\"t\":\"\xc3\"}", ``} {
		if err := h.BroadcastJSON(ctx, "lobby", "chat", json.RawMessage(bad)); err == nil || errs.From(err).Code() != "ws_invalid_data" {
			t.Fatalf("BroadcastJSON(%q) = %v; want ws_invalid_data", bad, err)
		}
	}
	if err := h.BroadcastJSON(ctx, "lobby", "chat", json.RawMessage(`{"ok":"é"}`)); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, a); f.Seq != 1 || string(f.Data) != `{"ok":"é"}` {
		t.Fatalf("first frame after the refused ones = %+v; want seq 1", f)
	}
}

func TestSendQueuePolicies(t *testing.T) {
	f := func(n int) []byte { return []byte(strings.Repeat("x", n)) }
	tests := []struct {
		name        string
		policy      Overflow
		push        []int
		wantQueued  []int // sizes left in the queue
		wantDropped int
		wantOver    bool
	}{
		{name: "fits", policy: DropOldest, push: []int{4, 4}, wantQueued: []int{4, 4}},
		{name: "drop oldest", policy: DropOldest, push: []int{4, 4, 4}, wantQueued: []int{4, 4}, wantDropped: 1},
		{name: "drop oldest several", policy: DropOldest, push: []int{3, 3, 3, 9}, wantQueued: []int{9}, wantDropped: 3},
		{name: "drop newest", policy: DropNewest, push: []int{4, 4, 4}, wantQueued: []int{4, 4}, wantDropped: 1},
		{name: "larger than the queue", policy: DropOldest, push: []int{4, 11}, wantQueued: []int{4}, wantDropped: 1},
		{name: "disconnect", policy: Disconnect, push: []int{4, 4, 4}, wantQueued: []int{4, 4}, wantOver: true},
		{name: "grows ring", policy: DropOldest, push: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, wantQueued: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newSendQueue(10)
			dropped, over := 0, false
			for _, n := range tt.push {
				d, _, o := q.push(f(n), tt.policy)
				dropped += d
				over = over || o
			}
			var sizes []int
			for _, b := range q.popAll(nil) {
				sizes = append(sizes, len(b))
			}
			if dropped != tt.wantDropped || over != tt.wantOver || !equalInts(sizes, tt.wantQueued) {
				t.Fatalf("queued %v dropped %d overflow %v; want %v %d %v", sizes, dropped, over, tt.wantQueued, tt.wantDropped, tt.wantOver)
			}
		})
	}
	t.Run("in-flight bytes count", func(t *testing.T) {
		q := newSendQueue(10)
		q.push(f(8), DropOldest)
		taken := q.popAll(nil)
		if d, _, _ := q.push(f(4), DropOldest); d != 1 {
			t.Fatalf("push over in-flight bytes dropped %d", d)
		}
		q.written(len(taken[0]))
		if d, _, _ := q.push(f(4), DropOldest); d != 0 {
			t.Fatalf("push after write dropped %d", d)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSlowConsumer checks that a client that stops reading neither blocks
// the hub nor delays the others, under every overflow policy.
func TestSlowConsumer(t *testing.T) {
	const msgs, size = 60, 16 << 10
	for _, policy := range []Overflow{DropOldest, DropNewest, Disconnect} {
		t.Run(policy.String(), func(t *testing.T) {
			var drops atomic.Int64
			closed := make(chan websocket.StatusCode, 4)
			var dropPolicy atomic.Value
			var h *Hub
			opts := Options{
				Router:         joinRouter(&h),
				SendQueueBytes: 4 * size,
				Overflow:       policy,
				OnDrop: func(d Drop) {
					drops.Add(int64(d.Messages))
					dropPolicy.Store(d.Policy)
				},
				OnDisconnect: func(c *Conn) { closed <- c.CloseStatus() },
			}
			if policy == Disconnect {
				opts.WriteTimeout = 500 * time.Millisecond
			}
			h, url := serve(t, opts)
			slow := dial(t, url, slowDialOptions())
			join(t, slow, "feed")
			fast := []*websocket.Conn{dial(t, url, nil), dial(t, url, nil)}
			for _, c := range fast {
				join(t, c, "feed")
			}
			feedFast(t, h, fast, msgs, strings.Repeat("p", size))
			eventually(t, "drops reported", func() bool { return drops.Load() > 0 })
			if got := dropPolicy.Load().(Overflow); got != policy {
				t.Fatalf("OnDrop policy = %v", got)
			}
			st := h.Stats()
			switch policy {
			case Disconnect:
				if st.SlowDisconnects != 1 || st.Dropped != 0 {
					t.Fatalf("stats = %+v", st)
				}
				eventually(t, "slow client gone", func() bool { return h.Presence("feed") == 2 })
				if code := <-closed; code != websocket.StatusTryAgainLater {
					t.Fatalf("slow client closed with %v, want 1013", code)
				}
			default:
				if st.Dropped == 0 || st.SlowDisconnects != 0 || h.Presence("feed") != 3 {
					t.Fatalf("stats = %+v, presence %d", st, h.Presence("feed"))
				}
				// One more message, then the slow client reads everything:
				// it sees a gap in the sequence before the last one.
				_ = h.Broadcast(context.Background(), "feed", "chunk", "end")
				for _, c := range fast {
					readFrame(t, c)
				}
				if !sawGap(t, slow, msgs+1) {
					t.Fatal("slow client saw no sequence gap")
				}
			}
		})
	}
}

// feedFast broadcasts msgs payloads to the "feed" room, each within a
// second, and checks that every fast client reads each one in order.
func feedFast(t *testing.T, h *Hub, fast []*websocket.Conn, msgs int, payload string) {
	t.Helper()
	for i := 1; i <= msgs; i++ {
		start := time.Now()
		if err := h.Broadcast(context.Background(), "feed", "chunk", payload); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("broadcast %d took %v: the slow client blocked the hub", i, d)
		}
		for _, c := range fast {
			if f := readFrame(t, c); f.Seq != uint64(i) {
				t.Fatalf("fast client got seq %d, want %d", f.Seq, i)
			}
		}
	}
}

// sawGap reads frames up to sequence number last and reports whether one
// was missing.
func sawGap(t *testing.T, conn *websocket.Conn, last uint64) bool {
	t.Helper()
	var seq uint64
	gap := false
	for seq < last {
		f := readFrame(t, conn)
		if f.Seq != seq+1 {
			gap = true
		}
		seq = f.Seq
	}
	return gap
}

// TestCrossInstanceMemory runs two hubs on one MemoryBroker, as two
// instances on one Redis.
func TestCrossInstanceMemory(t *testing.T) {
	broker := NewMemoryBroker()
	testCrossInstance(t, broker, broker, func(room string) int {
		broker.mu.RLock()
		defer broker.mu.RUnlock()
		return len(broker.subs[room])
	})
}

// testCrossInstance checks delivery between two hubs; subscribers reports
// how many hubs are subscribed to a room on the broker.
func testCrossInstance(t *testing.T, brokerA, brokerB Broker, subscribers func(room string) int) {
	var ha, hb *Hub
	ha, urlA := serve(t, Options{Router: joinRouter(&ha), Broker: brokerA})
	hb, urlB := serve(t, Options{Router: joinRouter(&hb), Broker: brokerB})
	ctx := context.Background()

	a, b := dial(t, urlA, nil), dial(t, urlB, nil)
	join(t, a, "room-1")
	join(t, b, "room-1")
	bOnly := dial(t, urlB, nil)
	join(t, bOnly, "room-2")
	// Each hub is subscribed to "*" (BroadcastAll) and to its rooms only.
	eventually(t, "subscriptions", func() bool {
		return subscribers(allRoom) == 2 && subscribers("room-1") == 2 && subscribers("room-2") == 1 && subscribers("room-3") == 0
	})

	var rec frameCollector
	rec.collect("a", a)
	rec.collect("b", b)
	rec.collect("bOnly", bOnly)
	got := rec.got

	if err := ha.Broadcast(ctx, "room-1", "chat", "from A"); err != nil {
		t.Fatal(err)
	}
	if err := hb.Broadcast(ctx, "room-1", "chat", "from B"); err != nil {
		t.Fatal(err)
	}
	if err := ha.Broadcast(ctx, "room-2", "chat", "A to room-2"); err != nil {
		t.Fatal(err)
	}
	if err := hb.BroadcastAll(ctx, "notice", "all"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deliveries", func() bool {
		return len(got("a")) >= 3 && len(got("b")) >= 3 && len(got("bOnly")) >= 2
	})
	sendEndMarkers(t, ha, hb, got)
	want := map[string][]string{
		"a":     {`"from A"`, `"from B"`, `"all"`},
		"b":     {`"from A"`, `"from B"`, `"all"`},
		"bOnly": {`"A to room-2"`, `"all"`},
	}
	for name, w := range want {
		checkDelivered(t, name, withoutEnds(got(name)), w)
	}
	if st := hb.Stats(); st.RemoteIn != 4 {
		t.Fatalf("B RemoteIn = %d, want 4 (a message and a marker each to room-1 and room-2 from A)", st.RemoteIn)
	}
	// Leaving the last local member unsubscribes.
	_ = bOnly.Close(websocket.StatusNormalClosure, "")
	eventually(t, "room-2 unsubscribed", func() bool { return subscribers("room-2") == 0 })
}

// frameCollector gathers the frames WebSocket clients receive, by name.
type frameCollector struct {
	mu       sync.Mutex
	received map[string][]frame
}

// collect reads c's frames in the background until it closes.
func (r *frameCollector) collect(name string, c *websocket.Conn) {
	go func() {
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f frame
			_ = json.Unmarshal(msg, &f)
			r.mu.Lock()
			if r.received == nil {
				r.received = map[string][]frame{}
			}
			r.received[name] = append(r.received[name], f)
			r.mu.Unlock()
		}
	}()
}

// got returns a copy of the frames name has received so far.
func (r *frameCollector) got(name string) []frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]frame(nil), r.received[name]...)
}

// checkDelivered fails unless frames hold each of want exactly once, with
// room-1's sequence numbers counting up from 1.
// sendEndMarkers sends an "end" marker down every path (hub, room) that
// testCrossInstance uses and waits until each client has its markers. A
// duplicate would come down the same path as its message, and each path
// delivers in order, so once the markers are in, any duplicate is too.
func sendEndMarkers(t *testing.T, ha, hb *Hub, got func(string) []frame) {
	t.Helper()
	ctx := context.Background()
	for _, send := range []func() error{
		func() error { return ha.Broadcast(ctx, "room-1", "end", "A") },
		func() error { return hb.Broadcast(ctx, "room-1", "end", "B") },
		func() error { return ha.Broadcast(ctx, "room-2", "end", "A") },
		func() error { return hb.BroadcastAll(ctx, "end", "B") },
	} {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	ends := func(name string) int { return len(got(name)) - len(withoutEnds(got(name))) }
	eventually(t, "end markers", func() bool {
		return ends("a") >= 3 && ends("b") >= 3 && ends("bOnly") >= 2
	})
}

// withoutEnds returns frames without the "end" markers.
func withoutEnds(frames []frame) []frame {
	var out []frame
	for _, f := range frames {
		if f.Type != "end" {
			out = append(out, f)
		}
	}
	return out
}

func checkDelivered(t *testing.T, name string, frames []frame, want []string) {
	t.Helper()
	var datas []string
	for _, f := range frames {
		datas = append(datas, string(f.Data))
	}
	if !sameSet(datas, want) {
		t.Fatalf("%s received %v, want each of %v exactly once", name, datas, want)
	}
	var seq uint64
	for _, f := range frames {
		if f.Room == "room-1" {
			seq++
			if f.Seq != seq {
				t.Fatalf("%s: room-1 seq %d, want %d", name, f.Seq, seq)
			}
		}
	}
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			return false
		}
	}
	return true
}

func TestHandlerStage(t *testing.T) {
	var h *Hub
	h, err := New(Options{Router: joinRouter(&h), Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("page"))
	})
	ts := httptest.NewServer(h.Handler(next))
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	}()
	resp, err := http.Get(ts.URL + "/any")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "page" {
		t.Fatalf("plain request got %q", body)
	}
	c := dial(t, "ws"+strings.TrimPrefix(ts.URL, "http")+"/any", nil)
	send(t, c, `{"type":"echo","data":1}`)
	if f := readFrame(t, c); f.Type != "echo" {
		t.Fatalf("upgrade through the stage: %+v", f)
	}
}

func TestConnCloseFromHandler(t *testing.T) {
	rt := NewRouter()
	rt.Handle("bye", func(_ context.Context, c *Conn, _ Message) error {
		c.Close(4001, "bye")
		return nil
	})
	_, url := serve(t, Options{Router: rt})
	c := dial(t, url, nil)
	send(t, c, `{"type":"bye"}`)
	expectClose(t, c, 4001)
}

func TestReplyKeepsOrderBehindQueuedMessages(t *testing.T) {
	var h *Hub
	rt := joinRouter(&h)
	rt.Handle("burst", func(ctx context.Context, c *Conn, m Message) error {
		for i := 1; i <= 50; i++ {
			if err := c.Send("n", i); err != nil {
				return err
			}
		}
		return m.Reply("done", nil)
	})
	h, url := serve(t, Options{Router: rt})
	c := dial(t, url, nil)
	send(t, c, `{"type":"burst"}`)
	for i := 1; i <= 50; i++ {
		if f := readFrame(t, c); f.Type != "n" || string(f.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d = %+v", i, f)
		}
	}
	if f := readFrame(t, c); f.Type != "done" {
		t.Fatalf("reply = %+v", f)
	}
}

func TestMaxRoomsPerConn(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h), MaxRoomsPerConn: 2})
	c := dial(t, url, nil)
	join(t, c, "r1")
	join(t, c, "r2")
	join(t, c, "r2") // already in: no new slot
	send(t, c, `{"type":"join","room":"r3","id":"x"}`)
	if f := readFrame(t, c); f.Error == nil || f.Error.Code != "ws_too_many_rooms" || f.Error.Status != 429 || f.ID != "x" {
		t.Fatalf("third room: %+v", f)
	}
	send(t, c, `{"type":"leave","room":"r1"}`)
	readFrame(t, c)
	join(t, c, "r3")
	if h.Stats().Rooms != 2 {
		t.Fatalf("Rooms = %d", h.Stats().Rooms)
	}
}

func TestConnAccessors(t *testing.T) {
	got := make(chan string, 1)
	var h *Hub
	rt := NewRouter()
	rt.Handle("who", func(ctx context.Context, c *Conn, m Message) error {
		if err := h.Join(c, "b"); err != nil {
			return err
		}
		if err := h.Join(c, "a"); err != nil {
			return err
		}
		got <- strings.Join([]string{c.User(), c.Subprotocol(), strings.Join(c.Rooms(), ","), c.Request().Header.Get("X-Trace"), strconv.FormatBool(c.ID() > 0), strconv.Itoa(int(c.CloseStatus())), strconv.FormatBool(c.Context().Err() == nil && ctx.Err() == nil)}, "|")
		return nil
	})
	h, url := serve(t, Options{
		Router:       rt,
		Subprotocols: []string{"v1"},
		Authenticate: func(*http.Request) (string, error) { return "ann", nil },
	})
	c := dial(t, url, &websocket.DialOptions{Subprotocols: []string{"v1"}, HTTPHeader: http.Header{"X-Trace": {"t-1"}}})
	send(t, c, `{"type":"who"}`)
	if s := <-got; s != "ann|v1|a,b|t-1|true|-1|true" {
		t.Fatalf("accessors = %q", s)
	}
}
