package wstools_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/wstools"
)

// A chat room on chi: clients join a room, see who is there, and talk.
func Example_chatRoom() {
	var hub *wstools.Hub
	router := wstools.NewRouter()
	router.Handle("chat.join", func(ctx context.Context, c *wstools.Conn, m wstools.Message) error {
		var in struct {
			Room string `json:"room"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		if err := hub.Join(c, in.Room); err != nil {
			return err
		}
		return hub.Broadcast(ctx, in.Room, "chat.presence", map[string]any{
			"joined": c.User(), "online": hub.Presence(in.Room),
		})
	})
	router.Handle("chat.say", func(ctx context.Context, c *wstools.Conn, m wstools.Message) error {
		var in struct {
			Room string `json:"room"`
			Text string `json:"text"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		return hub.Broadcast(ctx, in.Room, "chat.message", map[string]string{"from": c.User(), "text": in.Text})
	})

	hub, err := wstools.New(wstools.Options{
		Router: router,
		// The application's own check: a session cookie or a token in a
		// real service; here, the name in the query.
		Authenticate: func(r *http.Request) (string, error) {
			if name := r.URL.Query().Get("name"); name != "" {
				return name, nil
			}
			return "", errors.New("anonymous")
		},
	})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Get("/chat", hub.ServeHTTP)
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer hub.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat?name="
	alice, _, err := websocket.Dial(ctx, url+"alice", nil)
	if err != nil {
		panic(err)
	}
	defer alice.CloseNow()
	bob, _, err := websocket.Dial(ctx, url+"bob", nil)
	if err != nil {
		panic(err)
	}
	defer bob.CloseNow()

	show := func(who string, c *websocket.Conn) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s got %s\n", who, msg)
	}
	say := func(c *websocket.Conn, msg string) {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			panic(err)
		}
	}

	say(alice, `{"type":"chat.join","room":"lobby"}`)
	show("alice", alice)
	say(bob, `{"type":"chat.join","room":"lobby"}`)
	show("alice", alice)
	show("bob", bob)
	say(bob, `{"type":"chat.say","room":"lobby","text":"hi alice"}`)
	show("alice", alice)
	show("bob", bob)
	say(alice, `{"type":"chat.shout"}`)
	_, msg, _ := alice.Read(ctx)
	fmt.Println("unknown type answered:", strings.Contains(string(msg), `"code":"ws_unknown_type"`))

	// Without a name the handshake is refused with problem+json.
	_, resp, err := websocket.Dial(ctx, url, nil)
	fmt.Println("anonymous:", resp.StatusCode, resp.Header.Get("Content-Type"), err != nil)

	// Output:
	// alice got {"type":"chat.presence","room":"lobby","seq":1,"data":{"joined":"alice","online":1}}
	// alice got {"type":"chat.presence","room":"lobby","seq":2,"data":{"joined":"bob","online":2}}
	// bob got {"type":"chat.presence","room":"lobby","seq":2,"data":{"joined":"bob","online":2}}
	// alice got {"type":"chat.message","room":"lobby","seq":3,"data":{"from":"bob","text":"hi alice"}}
	// bob got {"type":"chat.message","room":"lobby","seq":3,"data":{"from":"bob","text":"hi alice"}}
	// unknown type answered: true
	// anonymous: 401 application/problem+json true
}
