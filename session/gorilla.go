package session

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
)

var _ sessions.Store = (*Manager)(nil)

func slogString(k, v string) slog.Attr  { return slog.String(k, v) }
func slogInt(k string, v int) slog.Attr { return slog.Int(k, v) }

// Get implements github.com/gorilla/sessions' Store: it returns the
// request's session as a *sessions.Session, cached in gorilla's per-request
// registry, so code written against gorilla/sessions keeps working. The
// name is ignored: a Manager has one session per request.
func (m *Manager) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(m, name)
}

// New implements github.com/gorilla/sessions' Store. Values holds the
// session's values under their string keys, decoded from JSON into plain Go
// values (numbers become float64, objects map[string]any); reserved keys
// are left out.
func (m *Manager) New(r *http.Request, name string) (*sessions.Session, error) {
	s := From(r)
	if s == nil {
		s = &Session{m: m, r: r, ctx: r.Context()}
	}
	gs := sessions.NewSession(m, name)
	gs.IsNew = s.IsNew()
	gs.Options = m.gorillaOptions()
	for _, k := range s.Keys() {
		if v, ok := Get[any](s, k); ok {
			gs.Values[k] = v
		}
	}
	return gs, s.Err()
}

func (m *Manager) gorillaOptions() *sessions.Options {
	o := &sessions.Options{Path: "/", HttpOnly: true, MaxAge: int(m.absolute.Seconds())}
	o.Secure = strings.Contains(m.setSuffix, "; Secure")
	switch {
	case strings.HasSuffix(m.setSuffix, "Strict"):
		o.SameSite = http.SameSiteStrictMode
	case strings.HasSuffix(m.setSuffix, "None"):
		o.SameSite = http.SameSiteNoneMode
	default:
		o.SameSite = http.SameSiteLaxMode
	}
	return o
}

// Save implements github.com/gorilla/sessions' Store: the session's values
// become gs.Values (whose keys must be strings), and a negative
// gs.Options.MaxAge destroys the session. Inside Manager.Handler the change
// is saved with the response headers like any other; outside it, Save
// saves at once and sets the cookie on w.
func (m *Manager) Save(r *http.Request, w http.ResponseWriter, gs *sessions.Session) error {
	s := From(r)
	standalone := s == nil
	if standalone {
		s = &Session{m: m, r: r, ctx: r.Context()}
	}
	if gs.Options != nil && gs.Options.MaxAge < 0 {
		if err := s.Destroy(); err != nil {
			return err
		}
	} else {
		vals := make(map[string]any, len(gs.Values))
		for k, v := range gs.Values {
			ks, ok := k.(string)
			if !ok {
				return fmt.Errorf("session: gorilla session value key %v (%T) is not a string", k, k)
			}
			vals[ks] = v
		}
		for _, k := range s.Keys() {
			if _, keep := vals[k]; !keep {
				s.Delete(k)
			}
		}
		for k, v := range vals {
			s.Set(k, v)
		}
		if err := s.Err(); err != nil {
			return err
		}
	}
	if standalone {
		return m.commit(s, w.Header())
	}
	return nil
}
