// Package compress compresses responses with gzip or zstd, on
// github.com/klauspost/compress/gzhttp, with defaults that keep secrets out
// of reach of compression side channels.
//
// gzhttp does the protocol: it negotiates Accept-Encoding (zstd preferred,
// then gzip), buffers the first MinSize bytes to decide, compresses only
// compressible content types, adds Vary: Accept-Encoding, and keeps Flush
// and http.ResponseController working. Covet adds the BREACH rule: a
// compressed response whose length an attacker can watch leaks a secret in
// it byte by byte when the attacker can also make the page reflect input of
// their choosing. So by default the stage leaves uncompressed every response
// that
//
//   - sets a cookie (Set-Cookie),
//   - is marked Cache-Control: no-store or private (as every problem+json
//     answer, login pages and pages with CSRF tokens should be), or
//   - is marked by the handler with Skip.
//
// The stage sees only the headers set inside it: mount it outside every
// stage that adds a cookie when the response starts (a session stage, for
// one), so that cookie is set on the writer the stage watches.
//
// Options.CompressSensitive turns that off for a handler that knows its
// responses hold no secret beside reflected input. Compressed request
// bodies are never decoded (a small gzip body can expand without bound).
//
// This package is a module of its own, so a team that does not compress
// does not carry github.com/klauspost/compress.
package compress
