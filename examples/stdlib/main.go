// Command stdlib mounts the Covet stages on http.ServeMux, with no router
// library: an in-memory notes API authenticated by API keys.
//
//	go run ./examples/stdlib
//
// It prints an API key for a demo user at start-up:
//
//	curl -H "X-API-Key: <key>" localhost:8081/notes
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/sanitize"
	"github.com/covetgo/covet/serve"
	"github.com/covetgo/covet/validate"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: errs.DefaultSanitizer().ReplaceAttr}))
	rd, err := errs.NewRenderer(errs.Options{Mode: errs.Development, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdlib:", err)
		os.Exit(1)
	}
	keys := authn.NewMemoryAPIKeys()
	key, rec, err := authn.NewAPIKey("demo")
	if err != nil {
		panic(err)
	}
	rec.Subject, rec.Roles, rec.Name = "demo-user", []string{"writer"}, "demo key"
	keys.Add(rec)
	h, err := newHandler(keys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdlib:", err)
		os.Exit(1)
	}
	srv, err := serve.New(serve.Options{Addr: "127.0.0.1:8081", Handler: h, Logger: logger, Errors: rd})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdlib:", err)
		os.Exit(1)
	}
	logger.Info("demo API key (shown once)", "X-API-Key", key)
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "stdlib:", err)
		os.Exit(1)
	}
}

type note struct {
	ID    int    `json:"id"`
	Owner string `json:"owner"`
	Title string `json:"title"`
}

type newNote struct {
	Title string `json:"title" validate:"required,min=1,max=200"`
}

// notes is an in-memory note store.
type notes struct {
	mu    sync.Mutex
	items []note
}

// newHandler assembles the stack on a ServeMux: method patterns route, the
// stages wrap the mux (outermost first), and per-route checks wrap handlers.
func newHandler(keys authn.APIKeyStore) (http.Handler, error) {
	apiKeys, err := authn.NewAPIKeys(authn.APIKeysOptions{Store: keys, Prefix: "demo"})
	if err != nil {
		return nil, err
	}
	authStage, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{apiKeys}})
	if err != nil {
		return nil, err
	}
	rbac, err := authz.NewRBAC(authz.Policy{Roles: map[string]authz.Role{
		"reader": {Permissions: []string{"notes:read"}},
		"writer": {Inherits: []string{"reader"}, Permissions: []string{"notes:write"}},
	}})
	if err != nil {
		return nil, err
	}
	az, err := authz.New(authz.Options{Decider: rbac})
	if err != nil {
		return nil, err
	}
	limit, err := ratelimit.New(ratelimit.Options{
		Policies: []ratelimit.Policy{ratelimit.PerSecond("burst", 20), ratelimit.PerHour("quota", 5000)},
		Key: ratelimit.ByPrincipal(func(r *http.Request) (string, bool) {
			s := authn.SubjectFrom(r.Context())
			return s, s != ""
		}),
	})
	if err != nil {
		return nil, err
	}
	headers, err := sanitize.NewHeaders(sanitize.HeadersOptions{})
	if err != nil {
		return nil, err
	}
	body, err := validate.NewBody[newNote](nil, validate.BodyOptions{MaxBytes: 16 << 10})
	if err != nil {
		return nil, err
	}

	store := &notes{}
	mux := http.NewServeMux()
	mux.Handle("GET /notes", az.Require("notes:read")(errs.Handle(store.list)))
	mux.Handle("POST /notes", az.Require("notes:write")(body.Handler(errs.Handle(store.create))))
	mux.Handle("GET /notes/{id}", az.Require("notes:read")(errs.Handle(store.get)))

	var h http.Handler = problems(mux)
	h = observe.CaptureRoute(h) // the stages below copy the request
	h = limit.Handler(h)
	h = authStage.Handler(h)
	h = headers.Handler(h)
	h = observe.AccessLog(h)
	h = errs.Recover(h)
	h = observe.RequestID(h)
	return h, nil
}

// problems answers what the mux has no route for with problem+json instead
// of ServeMux's plain-text 404 and 405.
func problems(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range methods {
			probe := *r
			probe.Method = m
			if _, pattern := mux.Handler(&probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			errs.Write(w, r, errs.New(errs.KindNotFound, "route_not_found", "There is no such route."))
			return
		}
		errs.Write(w, r, errs.New(errs.KindMethodNotAllowed, "", "The route does not allow this method.").
			WithHeader("Allow", strings.Join(allow, ", ")))
	})
}

func (s *notes) list(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	out := make([]note, 0, len(s.items))
	for _, n := range s.items {
		if n.Owner == authn.SubjectFrom(r.Context()) {
			out = append(out, n)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func (s *notes) create(w http.ResponseWriter, r *http.Request) error {
	in, _ := validate.BodyFrom[newNote](r.Context())
	s.mu.Lock()
	n := note{ID: len(s.items) + 1, Owner: authn.SubjectFrom(r.Context()), Title: in.Title}
	s.items = append(s.items, n)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(n)
}

func (s *notes) get(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || id < 1 || id > len(s.items) || s.items[id-1].Owner != authn.SubjectFrom(r.Context()) {
		return errs.New(errs.KindNotFound, "note_not_found", "There is no such note.")
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(s.items[id-1])
}
