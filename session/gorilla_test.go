package session

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"
)

// TestGorillaStoreInsideMiddleware walks a session through gorilla's API
// over four requests: create, read and delete a value, destroy, gone.
func TestGorillaStoreInsideMiddleware(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	var store sessions.Store = m
	steps := []func(*testing.T, *sessions.Session, http.ResponseWriter, *http.Request){
		gorillaCreate, gorillaReadAndDelete, gorillaDestroy, gorillaGone,
	}
	step := 0
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		gs, err := store.Get(r, "app")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		steps[step](t, gs, w, r)
		step++
	})
	for range steps {
		c.get("/")
	}
}

func gorillaCreate(t *testing.T, gs *sessions.Session, w http.ResponseWriter, r *http.Request) {
	if !gs.IsNew {
		t.Error("first session not new")
	}
	gs.Values["name"] = "gopher"
	gs.Values["n"] = 3
	gs.AddFlash("hi")
	if err := sessions.Save(r, w); err != nil {
		t.Errorf("Save: %v", err)
	}
}

func gorillaReadAndDelete(t *testing.T, gs *sessions.Session, w http.ResponseWriter, r *http.Request) {
	if gs.IsNew || gs.Values["name"] != "gopher" || gs.Values["n"] != float64(3) {
		t.Errorf("values = %v", gs.Values)
	}
	if f := gs.Flashes(); len(f) != 1 || f[0] != "hi" {
		t.Errorf("flashes = %v", f)
	}
	if v, _ := Get[string](From(r), "name"); v != "gopher" {
		t.Errorf("typed view = %q", v)
	}
	delete(gs.Values, "n")
	_ = gs.Save(r, w)
}

func gorillaDestroy(t *testing.T, gs *sessions.Session, w http.ResponseWriter, r *http.Request) {
	if _, ok := gs.Values["n"]; ok || From(r).Has("n") {
		t.Error("deleted gorilla value still present")
	}
	if _, ok := gs.Values["_flash"]; ok {
		t.Error("consumed flash still present")
	}
	gs.Options.MaxAge = -1
	_ = gs.Save(r, w)
}

func gorillaGone(t *testing.T, gs *sessions.Session, _ http.ResponseWriter, _ *http.Request) {
	if !gs.IsNew || len(gs.Values) != 0 {
		t.Errorf("MaxAge -1 did not destroy: %v", gs.Values)
	}
}

func TestGorillaStoreWithoutMiddleware(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	var store sessions.Store = m
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	gs, err := store.New(r, "app")
	if err != nil || !gs.IsNew {
		t.Fatalf("New = %v, %v", gs, err)
	}
	if gs.Options == nil || !gs.Options.Secure || !gs.Options.HttpOnly || gs.Options.SameSite != http.SameSiteLaxMode {
		t.Errorf("options = %+v", gs.Options)
	}
	gs.Values["k"] = "v"
	w := httptest.NewRecorder()
	if err := store.Save(r, w, gs); err != nil {
		t.Fatalf("Save: %v", err)
	}
	line := setCookieHeader(w, m.CookieName())
	if line == "" {
		t.Fatal("Save outside the middleware set no cookie")
	}
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.Header.Set("Cookie", (&http.Response{Header: w.Header()}).Cookies()[0].String())
	gs2, err := store.New(r2, "app")
	if err != nil || gs2.IsNew || gs2.Values["k"] != "v" {
		t.Fatalf("reload = %v, %v", gs2.Values, err)
	}
	gs2.Values[42] = "int key"
	if err := store.Save(r2, httptest.NewRecorder(), gs2); err == nil {
		t.Fatal("a non-string key was accepted")
	}
}
