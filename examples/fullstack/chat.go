package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/wstools"
)

// chatProtocol is the WebSocket subprotocol the page speaks.
const chatProtocol = "covet.chat.v1"

type joinMessage struct {
	Room string `json:"room"`
}

type sayMessage struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// chatLine is what a room's members receive as the broadcast's data.
type chatLine struct {
	From string `json:"from"`
	Text string `json:"text"`
}

var errNotInRoom = errs.New(errs.KindBadRequest, "not_in_room", "Join the room before speaking in it.")

func (a *app) buildChat() (err error) {
	router := wstools.NewRouter()
	router.Handle("join", func(ctx context.Context, c *wstools.Conn, m wstools.Message) error {
		var in joinMessage
		if err := m.Decode(&in); err != nil {
			return err
		}
		return a.hub.Join(c, in.Room)
	})
	router.Handle("say", func(ctx context.Context, c *wstools.Conn, m wstools.Message) error {
		var in sayMessage
		if err := m.Decode(&in); err != nil {
			return err
		}
		text := strings.TrimSpace(in.Text)
		if text == "" || len(text) > 500 {
			return errs.New(errs.KindValidation, "invalid_text", "A message holds 1 to 500 characters.")
		}
		member := false
		for _, r := range c.Rooms() {
			member = member || r == in.Room
		}
		if !member {
			return errNotInRoom
		}
		return a.hub.Broadcast(ctx, in.Room, "message", chatLine{From: a.displayName(ctx, c.User()), Text: text})
	})

	broker, err := a.newBroker()
	if err != nil {
		return err
	}
	a.hub, err = wstools.New(wstools.Options{
		Origins:      a.cfg.CORSOrigins,
		Subprotocols: []string{chatProtocol},
		Authenticate: func(r *http.Request) (string, error) {
			p, err := a.authn.Authenticate(r)
			if err != nil {
				return "", err
			}
			if p == nil {
				return "", authn.ErrNoCredentials
			}
			return p.Subject, nil
		},
		Router: router,
		Broker: broker,
		Logger: a.log,
	})
	if err != nil {
		return err
	}
	a.disconnectUser = a.closeSockets
	return nil
}

// closeLoggedOut is the close code a socket gets when its user's login
// ended (logout, password change), on this instance and every other.
const closeLoggedOut websocket.StatusCode = 4001

// closeSockets closes every open WebSocket of subject. A broker failure
// is logged: the sockets on this instance are closed all the same, and
// those elsewhere fail their next token check.
func (a *app) closeSockets(ctx context.Context, subject string) {
	if _, err := a.hub.CloseUser(ctx, subject, closeLoggedOut, "logged out"); err != nil {
		a.log.WarnContext(ctx, "closing a logged-out user's sockets on other instances", "error", err)
	}
}

// displayName is the user's name for chat lines.
func (a *app) displayName(ctx context.Context, subject string) string {
	id, err := strconv.ParseInt(subject, 10, 64)
	if err != nil {
		return "someone"
	}
	u, err := a.store.userByID(ctx, id)
	if err != nil {
		return "someone"
	}
	return u.Name
}
