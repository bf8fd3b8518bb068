package compress

import (
	"compress/gzip"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"

	"github.com/covetgo/covet/errs"
)

// Options configure a Stage. The zero value is the safe default.
type Options struct {
	// MinSize is the smallest response, in bytes, worth compressing. Zero
	// means gzhttp.DefaultMinSize (1 KiB); a negative value is refused.
	MinSize int
	// Level is the gzip level, 1 (fastest) to 9 (smallest). Zero means the
	// default level.
	Level int
	// ContentTypes, when set, are the only media types compressed
	// ("text/html", "application/json", ...). Empty means every type but
	// audio, video, archives, raster images and web fonts, which are
	// compressed already.
	ContentTypes []string
	// CompressSensitive compresses responses that set cookies or are marked
	// no-store or private too. Set it only for handlers whose responses
	// never hold a secret next to input an attacker controls.
	CompressSensitive bool
}

// Stage is the compression middleware. Build it with New.
type Stage struct {
	wrap      func(http.Handler) http.HandlerFunc
	sensitive bool
}

// New validates opts and returns the stage.
func New(opts Options) (*Stage, error) {
	if opts.MinSize < 0 {
		return nil, errs.Configf("compress: MinSize %d is negative", opts.MinSize)
	}
	if opts.Level < 0 || opts.Level > gzip.BestCompression {
		return nil, errs.Configf("compress: Level %d is not between 1 and 9", opts.Level)
	}
	minSize, level := gzhttp.DefaultMinSize, gzip.DefaultCompression
	if opts.MinSize > 0 {
		minSize = opts.MinSize
	}
	if opts.Level > 0 {
		level = opts.Level
	}
	types := gzhttp.ContentTypeFilter(compressible)
	if len(opts.ContentTypes) > 0 {
		for _, ct := range opts.ContentTypes {
			if strings.TrimSpace(ct) == "" {
				return nil, errs.Configf("compress: an empty content type in ContentTypes")
			}
		}
		types = gzhttp.ContentTypes(opts.ContentTypes)
	}
	wrap, err := gzhttp.NewWrapper(gzhttp.AllowCompressedRequests(false),
		gzhttp.MinSize(minSize), gzhttp.CompressionLevel(level), types)
	if err != nil {
		return nil, errs.Configf("compress: %v", err)
	}
	return &Stage{wrap: wrap, sensitive: opts.CompressSensitive}, nil
}

// Handler returns next with its responses compressed (the stage, as chi's
// Use expects it).
func (s *Stage) Handler(next http.Handler) http.Handler {
	if s.sensitive {
		return s.wrap(next)
	}
	return s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&guard{ResponseWriter: w}, r)
	}))
}

// Skip marks the response w is writing as one not to compress. Call it
// before the first write.
func Skip(w http.ResponseWriter) {
	w.Header().Set(gzhttp.HeaderNoCompression, "1")
}

// guard marks a sensitive response as not to be compressed before gzhttp
// decides. gzhttp buffers the first MinSize bytes and delays the status, so
// the handler may still add a cookie after its first Write or WriteHeader:
// the check runs on every call (it is a few map lookups), and gzhttp reads
// the mark when it commits.
type guard struct {
	http.ResponseWriter
}

func (g *guard) check() {
	h := g.ResponseWriter.Header()
	if sensitive(h) {
		h.Set(gzhttp.HeaderNoCompression, "1")
	}
}

// sensitive reports whether a response with header h may hold a secret.
func sensitive(h http.Header) bool {
	if len(h["Set-Cookie"]) > 0 {
		return true
	}
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d = strings.TrimSpace(d)
			if i := strings.IndexByte(d, '='); i >= 0 {
				d = d[:i] // private="Set-Cookie" names fields, still private
			}
			if strings.EqualFold(d, "no-store") || strings.EqualFold(d, "private") {
				return true
			}
		}
	}
	return false
}

func (g *guard) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		g.check()
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *guard) Write(p []byte) (int, error) {
	g.check()
	return g.ResponseWriter.Write(p)
}

// FlushError commits the response and flushes it.
func (g *guard) FlushError() error {
	g.check()
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that use http.Flusher.
func (g *guard) Flush() { _ = g.FlushError() }

// Unwrap returns gzhttp's writer, for http.ResponseController.
func (g *guard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// compressible is gzhttp's default filter without the binary formats that
// are compressed already: raster images (SVG is text) and web fonts.
func compressible(ct string) bool {
	if !gzhttp.DefaultContentTypeFilter(ct) {
		return false
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if strings.HasPrefix(ct, "image/") {
		return strings.HasPrefix(ct, "image/svg+xml")
	}
	return !strings.HasPrefix(ct, "font/woff")
}
