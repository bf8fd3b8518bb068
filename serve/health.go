package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/errs"
)

// Check states in the readiness body.
const (
	CheckOK      = "ok"
	CheckFailed  = "failed"
	CheckTimeout = "timeout"
)

// CheckResult is one check's entry in the readiness body. Error is shown
// (sanitized) only when the probe's errs Renderer is not in errs.Production;
// the full error is logged.
type CheckResult struct {
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

type check struct {
	name    string
	fn      func(context.Context) error
	running atomic.Bool // a call that has not returned yet
}

// readiness runs the checks. Concurrent probes share one run, and a check
// that ignores its context is not started again until it returns, so a
// flood of probes cannot pile up goroutines or load the dependencies.
type readiness struct {
	timeout time.Duration
	mu      sync.Mutex
	checks  []*check
	current *readyRun
}

type readyRun struct {
	done    chan struct{}
	results map[string]CheckResult
	ok      bool
}

// Check adds a readiness check: /readyz answers 200 only when every check
// returns nil within Options.CheckTimeout. Checks run concurrently, each
// with a context that ends at the timeout; they should return when it does.
// Name the dependency ("postgres", "redis"); the name appears in the body.
// Check panics on an empty or duplicate name (a programming error). Checks
// may be added while the server runs.
func (s *Server) Check(name string, fn func(ctx context.Context) error) {
	if name == "" || fn == nil {
		panic("serve: Check needs a name and a function")
	}
	s.readiness.mu.Lock()
	defer s.readiness.mu.Unlock()
	for _, c := range s.readiness.checks {
		if c.name == name {
			panic("serve: duplicate readiness check " + name)
		}
	}
	s.readiness.checks = append(s.readiness.checks, &check{name: name, fn: fn})
}

// run returns the results of a readiness run, joining one in progress.
func (rd *readiness) run(ctx context.Context) (*readyRun, error) {
	rd.mu.Lock()
	if r := rd.current; r != nil {
		rd.mu.Unlock()
		select {
		case <-r.done:
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := &readyRun{done: make(chan struct{})}
	rd.current = r
	checks := append([]*check(nil), rd.checks...)
	rd.mu.Unlock()

	r.results, r.ok = rd.runChecks(checks)
	rd.mu.Lock()
	rd.current = nil
	rd.mu.Unlock()
	close(r.done)
	return r, nil
}

type checkOutcome struct {
	i   int
	res CheckResult
	err error
}

func (rd *readiness) runChecks(checks []*check) (map[string]CheckResult, bool) {
	results := make(map[string]CheckResult, len(checks))
	if len(checks) == 0 {
		return results, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), rd.timeout)
	defer cancel()
	out := make(chan checkOutcome, len(checks))
	pending := make([]bool, len(checks))
	start := time.Now()
	for i, c := range checks {
		if !c.running.CompareAndSwap(false, true) {
			// The previous call has not returned: report it, start nothing.
			results[c.name] = CheckResult{Status: CheckTimeout, Error: "the previous check has not returned"}
			continue
		}
		pending[i] = true
		go func() {
			t := time.Now()
			err := callCheck(ctx, c.fn) // never panics
			// Cleared before the outcome is sent: the next probe may start
			// as soon as this one has its answer.
			c.running.Store(false)
			out <- checkOutcome{i: i, res: CheckResult{DurationMS: ms(time.Since(t))}, err: err}
		}()
	}
	ok := true
wait:
	for n := count(pending); n > 0; n-- {
		select {
		case o := <-out:
			pending[o.i] = false
			o.res.Status = CheckOK
			if o.err != nil {
				ok = false
				o.res.Status = CheckFailed
				if ctx.Err() != nil {
					o.res.Status = CheckTimeout
				}
				o.res.Error = o.err.Error()
			}
			results[checks[o.i].name] = o.res
		case <-ctx.Done():
			break wait
		}
	}
	for i, p := range pending {
		if p {
			results[checks[i].name] = CheckResult{Status: CheckTimeout, DurationMS: ms(time.Since(start)), Error: "no answer within " + rd.timeout.String()}
		}
	}
	for _, r := range results {
		if r.Status != CheckOK {
			ok = false
		}
	}
	return results, ok
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func callCheck(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn(ctx)
}

// Ready reports whether the server is serving and not shutting down. It
// does not run the checks.
func (s *Server) Ready() bool { return s.state.Load() == stateServing }

// Healthz returns the liveness handler: 200 {"status":"ok"} for as long as
// the process can answer, including while it drains (restarting a draining
// process would cut its requests). The server mounts it at HealthPath.
func (s *Server) Healthz() http.Handler { return http.HandlerFunc(s.serveHealth) }

// Readyz returns the readiness handler the server mounts at ReadyPath. It
// answers 200 with {"status":"ready","checks":[{"name":..., "status":...,
// "duration_ms":...}, ...]} (sorted by name) when the
// server is serving and every check passes. Otherwise it answers 503
// problem+json (through errs.Write) with code "not_ready" and the same
// checks under "context", or with code "shutting_down" (checks not run)
// from the moment shutdown begins.
func (s *Server) Readyz() http.Handler { return http.HandlerFunc(s.serveReady) }

var healthBody = []byte(`{"status":"ok"}` + "\n")

// renderer is what the probes render problems with: Options.Errors, else
// the request's (errs.RendererFrom).
func (s *Server) renderer(r *http.Request) *errs.Renderer {
	if s.errors != nil {
		return s.errors
	}
	return errs.RendererFrom(r.Context())
}

func (s *Server) probeMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	s.renderer(r).Write(w, r, errs.New(errs.KindMethodNotAllowed, "", "Probes answer GET and HEAD only.").WithHeader("Allow", "GET, HEAD"))
	return false
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !s.probeMethod(w, r) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(healthBody)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if !s.probeMethod(w, r) {
		return
	}
	rd := s.renderer(r)
	switch s.state.Load() {
	case stateServing:
	case stateStarting:
		rd.Write(w, r, errs.New(errs.KindServiceUnavailable, "starting", "The server is starting."))
		return
	default:
		rd.Write(w, r, errs.New(errs.KindServiceUnavailable, "shutting_down", "The server is shutting down."))
		return
	}
	run, err := s.readiness.run(r.Context())
	if err != nil {
		return // the prober went away
	}
	// A shutdown that began while the checks ran wins.
	if s.state.Load() != stateServing {
		rd.Write(w, r, errs.New(errs.KindServiceUnavailable, "shutting_down", "The server is shutting down."))
		return
	}
	results := s.publicResults(r.Context(), rd, run.results)
	if !run.ok {
		rd.Write(w, r, errs.New(errs.KindServiceUnavailable, "not_ready", "One or more readiness checks failed.").WithPublic("checks", resultMaps(results)))
		return
	}
	body, err := json.Marshal(struct {
		Status string        `json:"status"`
		Checks []CheckResult `json:"checks"`
	}{"ready", results})
	if err != nil {
		rd.Write(w, r, errs.Wrap(err, errs.KindSerialization, "", ""))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(append(body, '\n'))
}

// publicResults logs failed checks with their errors and returns what the
// body may show, sorted by name: errors sanitized outside Production, none
// in it (the mode of rd).
func (s *Server) publicResults(ctx context.Context, rd *errs.Renderer, in map[string]CheckResult) []CheckResult {
	san := rd.Sanitizer()
	show := rd.Mode() != errs.Production
	out := make([]CheckResult, 0, len(in))
	for name, res := range in {
		res.Name = name
		if res.Error != "" {
			res.Error = san.String(res.Error)
			s.logger.WarnContext(ctx, "readiness check failed", "check", name, "status", res.Status, "error", res.Error)
			if !show {
				res.Error = ""
			}
		}
		out = append(out, res)
	}
	slices.SortFunc(out, func(a, b CheckResult) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// resultMaps turns results into a list of plain maps, the shape problem
// context values are rendered from. A list, not a map keyed by check name:
// the sanitizer would redact a check named after a sensitive word
// ("session", "auth").
func resultMaps(in []CheckResult) []any {
	out := make([]any, len(in))
	for i, r := range in {
		m := map[string]any{"name": r.Name, "status": r.Status, "duration_ms": r.DurationMS}
		if r.Error != "" {
			m["error"] = r.Error
		}
		out[i] = m
	}
	return out
}
