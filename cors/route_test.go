package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/cors"
)

// TestPerRoutePolicies mounts two policies on two subtrees, with chi and
// with ServeMux, and checks that each subtree answers with its own policy,
// including preflights of routes registered for one method only.
func TestPerRoutePolicies(t *testing.T) {
	t.Parallel()
	api := cors.Must(cors.Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}, AllowCredentials: true})
	public := cors.Must(cors.Options{AllowedOrigins: []string{"*"}})
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }

	r := chi.NewRouter()
	r.Route("/api", func(r chi.Router) {
		r.Use(api.Handler)
		r.Put("/notes/{id}", ok)
	})
	r.Route("/public", func(r chi.Router) {
		r.Use(public.Handler)
		r.Get("/feed", ok)
	})

	apiMux := http.NewServeMux()
	apiMux.HandleFunc("PUT /api/notes/{id}", ok)
	publicMux := http.NewServeMux()
	publicMux.HandleFunc("GET /public/feed", ok)
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler(apiMux))
	mux.Handle("/public/", public.Handler(publicMux))

	for name, h := range map[string]http.Handler{"chi": r, "servemux": mux} {
		for _, tc := range []struct {
			name, method, path, origin, acrm string
			status                           int
			acao, acac                       string
		}{
			{"api preflight", "OPTIONS", "/api/notes/1", "https://app.example.com", "PUT", 204, "https://app.example.com", "true"},
			{"api preflight from elsewhere", "OPTIONS", "/api/notes/1", "https://other.test", "PUT", 204, "", ""},
			{"api PUT", "PUT", "/api/notes/1", "https://app.example.com", "", 200, "https://app.example.com", "true"},
			{"public GET from anywhere", "GET", "/public/feed", "https://other.test", "", 200, "*", ""},
			{"public preflight", "OPTIONS", "/public/feed", "https://other.test", "GET", 204, "*", ""},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, tc.path, nil)
				req.Header.Set("Origin", tc.origin)
				if tc.acrm != "" {
					req.Header.Set("Access-Control-Request-Method", tc.acrm)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status || rec.Header().Get("Access-Control-Allow-Origin") != tc.acao || rec.Header().Get("Access-Control-Allow-Credentials") != tc.acac {
					t.Fatalf("got %d ACAO %q ACAC %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Credentials"))
				}
			})
		}
	}
}

// TestMountedOnRouteOnly shows why the stage belongs outside method
// routing: attached to the PUT route alone, the preflight never reaches it.
func TestMountedOnRouteOnly(t *testing.T) {
	t.Parallel()
	api := cors.Must(cors.Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}})
	r := chi.NewRouter()
	r.With(api.Handler).Put("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest("OPTIONS", "/notes/1", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("got %d, ACAO %q; want 405 from the router and no CORS headers", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}
