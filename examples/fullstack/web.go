package main

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/covetgo/covet/errs"
)

//go:embed web
var webFiles embed.FS

var errNoFile = errs.New(errs.KindNotFound, "file_not_found", "There is no such file.")

// page serves the single-page app. Its scripts and styles are files of the
// same origin, so the strict CSP (script-src 'self') holds.
func (a *app) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, webFiles, "web/index.html")
}

// staticFiles serves web/ under /static/. A name that is not there is a
// 404 problem like every other error of the app: http.FileServer's own is
// a plain-text page.
func staticFiles() http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(r.URL.Path, "/")
		if name == "" {
			name = "."
		}
		if !fs.ValidPath(name) {
			errs.Write(w, r, errNoFile)
			return
		}
		if _, err := fs.Stat(sub, name); err != nil {
			errs.Write(w, r, errNoFile)
			return
		}
		files.ServeHTTP(w, r)
	}))
}
