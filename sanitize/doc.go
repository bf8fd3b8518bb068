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
package sanitize
