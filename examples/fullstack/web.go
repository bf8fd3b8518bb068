package main

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed web
var webFiles embed.FS

// page serves the single-page app. Its scripts and styles are files of the
// same origin, so the strict CSP (script-src 'self') holds.
func (a *app) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, webFiles, "web/index.html")
}

// staticFiles serves web/ under /static/.
func staticFiles() http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
