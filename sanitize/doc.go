// Package sanitize keeps untrusted input from turning into markup, paths,
// headers, log lines, redirects, SQL or command options, and screens
// requests before they reach the application.
//
// Two stages mount on a handler:
//
//   - Screen refuses requests with invalid UTF-8, NUL or control
//     characters, "." and ".." segments (also percent-encoded), encoded
//     slashes, double encoding, over-long URLs and too many query
//     parameters, with a 400 problem+json. Each component has its own
//     rule: the path refuses every control character and any double
//     encoding; a query value may hold the encoded tab, CR and LF of a
//     multi-line form field but not NUL, and may hold a URL with escapes
//     of its own but not one whose second decoding yields a control
//     character, ".", "\\", "%", or a "/" next to "..";
//     header values are not decoded and may not hold controls other than
//     tab. The Screen type's documentation has the full list.
//   - Headers sets the security headers (nosniff, frame-ancestors and
//     X-Frame-Options, Referrer-Policy, Cross-Origin-Opener-Policy,
//     X-XSS-Protection: 0, HSTS only over TLS or from a trusted proxy) and a
//     Content-Security-Policy, with a fresh nonce per request when the
//     policy asks for one (NonceFrom).
//
// The rest are functions and small types used inside handlers:
//
//   - HTML: bluemonday policies built once, behind size and shape limits.
//     PresetUserContent is the one for content from untrusted users: unlike
//     PresetUGC (bluemonday's UGCPolicy) it drops id attributes, which let
//     content clobber names the page's scripts look up, and images from
//     hosts not listed in HTMLOptions.ImageOrigins.
//   - LocalPath and Root: user-named files, only inside one directory
//     (os.Root, so symlinks cannot escape either). Root, its FS and the
//     directory listings of that FS refuse the same names; dotfiles
//     (".env", ".git/config") only with RootOptions.AllowDotfiles.
//   - HeaderValue, CleanHeaderValue, LogValue, ContentDisposition,
//     SafeFilename: values bound for headers, logs and downloads.
//   - Redirects: an allowlist for user-supplied redirect targets.
//   - Identifiers and EscapeLike: the parts of SQL that cannot be bound as
//     parameters (ORDER BY columns and directions, table names) as GORM
//     clause values from an allowlist, and literal LIKE patterns.
//   - CommandArg: user input passed as an argument to exec.Command.
//
// Every refusal is an *errs.Error with a stable code, so a handler can
// return it to errs.Write (or errs.Handle) unchanged.
//
// GORM methods that take raw SQL and must never see user input in the SQL
// string itself: Where/Or/Not/Having with a string condition (bind with
// "?"), Order, Group, Select, Joins, Table, Distinct, Pluck's column,
// Raw and Exec, and clause.Expr. Pass user values as arguments, and user
// choices of columns or tables through Identifiers.
//
// # Screening, security headers, and safe use of untrusted values
//
// Two stages and a set of helpers for handlers. Every refusal is an *errs.Error with a stable code,
// rendered as problem+json.
//
//	screen, err := sanitize.NewScreen(sanitize.ScreenOptions{MaxURLBytes: 4096, MaxQueryParams: 64})
//	if err != nil {
//		log.Fatal(err)
//	}
//	headers, err := sanitize.NewHeaders(sanitize.HeadersOptions{
//		Proxies: resolver, // *clientip.Resolver: X-Forwarded-Proto counts only from trusted proxies
//		CSP: sanitize.NewCSP().
//			Add("default-src", "'self'").
//			Add("script-src", "'self'", sanitize.Nonce). // fresh nonce per request
//			Add("object-src", "'none'"),
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r.Use(headers.Handler, screen.Handler)
//
//	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
//		fmt.Fprintf(w, `<script nonce="%s" src="/app.js"></script>`, sanitize.NonceFrom(r.Context()))
//	})
//
// Screen answers 400 to targets with invalid UTF-8, NUL or control characters, ./.. segments
// (also %2e%2e and ..;), encoded slashes or backslashes, double encoding, malformed escapes,
// over-long URLs and too many query parameters. Headers sets nosniff, frame-ancestors 'none' and
// X-Frame-Options: DENY, Referrer-Policy, Cross-Origin-Opener-Policy, X-XSS-Protection: 0,
// the CSP, and HSTS only on TLS requests (or from a trusted proxy that says https).
//
// Inside handlers:
//
//	comments, _ := sanitize.NewHTML(sanitize.HTMLOptions{Preset: sanitize.PresetUGC}) // size and shape limits built in
//	safe, err := comments.Sanitize(body)
//
//	files, _ := sanitize.OpenRoot("/srv/uploads")  // os.Root: no traversal, no escaping symlinks
//	f, err := files.Open(r.PathValue("name"))
//
//	w.Header().Set("Content-Disposition", sanitize.ContentDisposition(userFileName))
//	slog.Info("search", "q", sanitize.LogValue(q, 200))
//
//	next, _ := sanitize.NewRedirects(sanitize.RedirectOptions{AllowedHosts: []string{"accounts.example.com"}})
//	next.Redirect(w, r, r.FormValue("next"), "/", http.StatusSeeOther) // "//evil.com" goes to "/"
//
//	sorts, _ := sanitize.NewIdentifiers(map[string]string{"created": "created_at", "title": "title"})
//	order, err := sorts.OrderBy(r.URL.Query().Get("sort")) // "-created,title" → sanitize.OrderBy
//	db.Clauses(dbkit.OrderBy(order)).Where("title LIKE ?", "%"+sanitize.EscapeLike(q)+"%").Find(&notes)
//
//	if err := sanitize.CommandArg(name); err != nil { // refuses "-o..." and control characters
//		return err
//	}
//	out, err := exec.CommandContext(ctx, "convert", "--", name).Output()
//
// GORM methods that take raw SQL strings must never get user input in that string: Where, Or,
// Not and Having with a string condition (bind values with ?), Order, Group, Select,
// Distinct, Joins, Table, Pluck's column, Raw, Exec and clause.Expr. Pass user values
// as arguments and user choices of columns or tables through sanitize.Identifiers.
package sanitize
