package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

// FailurePolicy is what a Limiter does when its store fails (Redis down,
// a deadline missed).
type FailurePolicy uint8

const (
	// FailClosed refuses the request with 503 problem+json and a
	// Retry-After header. It is the zero value.
	FailClosed FailurePolicy = iota
	// FailOpen lets the request through unlimited, logs and counts it.
	FailOpen
	// FailLocal decides with a memory store local to the process, so each
	// instance limits on its own until the shared store is back.
	FailLocal
)

// NoKeyPolicy is what a Limiter does with a request that has no key (no
// principal, no API key, an unparsable address).
type NoKeyPolicy uint8

const (
	// NoKeyShared counts every request without a key in one shared
	// bucket, under the same policies. It is the zero value.
	NoKeyShared NoKeyPolicy = iota
	// NoKeyDeny refuses a request without a key with 400 problem+json
	// (code "rate_limit_key_missing").
	NoKeyDeny
)

// Options configures a Limiter. Only Policies is required; the zero value
// of every other field is the safe default.
type Options struct {
	// Name is the limiter's namespace in the store: limiters sharing a
	// store share counters only when their names and policy names match.
	// 0-32 characters of [a-z0-9_-]. Zero: "" (one namespace).
	Name string
	// Policies are enforced together on every request: the request passes
	// only when all of them have room, and a refused request takes nothing
	// from any of them.
	Policies []Policy
	// Plans are alternative policy lists (pricing plans), chosen per
	// request by Plan. Each is validated like Policies.
	Plans map[string][]Policy
	// Plan names the plan of a request; a name not in Plans (or "") uses
	// Policies.
	Plan func(r *http.Request) string
	// Store holds the counters: a *MemoryStore, a *RedisStore or the
	// *UluleStore of LimiterStore. Nil: a new MemoryStore with default
	// options, closed by Close.
	Store store
	// Key says what the limits are counted per. Zero: ByIP().
	Key Key
	// NoKey decides what happens to a request without a key. Zero:
	// NoKeyShared.
	NoKey NoKeyPolicy
	// Cost returns how many units a request takes. Nil: 1. Zero lets the
	// request pass without taking anything (the headers still show the
	// quota); a negative cost counts as 1. A cost above a policy's burst
	// (or limit, for windows) is always refused.
	Cost func(r *http.Request) int64
	// ExemptIPs are client networks that are never limited.
	ExemptIPs []netip.Prefix
	// ExemptKeys are key values that are never limited: a principal, an
	// API key, a route pattern or a ByFunc value equal to one of them
	// exempts the request.
	ExemptKeys []string
	// Exempt, when it returns true, exempts the request.
	Exempt func(r *http.Request) bool
	// ClientIP resolves client addresses for ByIP and ExemptIPs. Nil: the
	// address clientip.Resolver.Handler stored in the context, else the
	// connection's address (no forwarding header is believed).
	ClientIP *clientip.Resolver
	// OnStoreError is the failure policy. Zero: FailClosed.
	OnStoreError FailurePolicy
	// Fallback is the memory store FailLocal uses. Nil: a new one, closed
	// by Close.
	Fallback *MemoryStore
	// StoreRetry is how long after a store error the limiter applies the
	// failure policy without asking the store again, so an outage does not
	// cost every request a timeout. Zero: one second. Negative: always ask.
	StoreRetry time.Duration
	// LegacyHeaders adds X-RateLimit-Limit, X-RateLimit-Remaining and
	// X-RateLimit-Reset (delta seconds until the deciding policy resets,
	// not a timestamp) to the IETF fields.
	LegacyHeaders bool
	// Logger receives store failures (at most one line per second).
	// Nil: slog.Default().
	Logger *slog.Logger
	// Clock is the limiter's own time source, used to pace the store retry
	// and error logging and as the clock of the fallback store it creates.
	// Store decisions use the store's clock (the server's for Redis). Nil:
	// time.Now.
	Clock func() time.Time
}

// Limiter is the rate-limit stage and its decision API.
type Limiter struct {
	name       string
	def        *policySet
	plans      map[string]*policySet
	plan       func(*http.Request) string
	store      store
	mem        *MemoryStore // store, when it is a memory store
	ipOnly     bool         // the key is ByIP and the store mem
	ownStore   bool
	key        Key
	keyKind    string // key.kind(), for spans
	noKey      NoKeyPolicy
	cost       func(*http.Request) int64
	exemptIPs  []netip.Prefix
	exemptKeys map[string]struct{}
	exempt     func(*http.Request) bool
	resolver   *clientip.Resolver
	onError    FailurePolicy
	fallback   *MemoryStore
	ownFB      bool
	retry      time.Duration
	legacy     bool
	logger     *slog.Logger
	clock      func() time.Time

	downUntil atomic.Int64
	lastLog   atomic.Int64
	stats     struct{ errors, open, closed, local atomic.Uint64 }
}

// Stats are a Limiter's store-failure counters.
type Stats struct {
	// StoreErrors counts decisions the store failed (or that were not
	// asked of it during StoreRetry after a failure).
	StoreErrors uint64
	// FailedOpen, FailedClosed and FailedLocal count how those decisions
	// were settled.
	FailedOpen, FailedClosed, FailedLocal uint64
}

// New validates opts and returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	key, err := opts.Key.validate()
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		name: opts.Name, plan: opts.Plan, store: opts.Store, key: key, keyKind: key.kind(), noKey: opts.NoKey,
		cost: opts.Cost, exempt: opts.Exempt, resolver: opts.ClientIP, onError: opts.OnStoreError,
		fallback: opts.Fallback, retry: cmp.Or(opts.StoreRetry, time.Second), legacy: opts.LegacyHeaders,
		logger: cmp.Or(opts.Logger, slog.Default()), clock: opts.Clock,
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.def, err = compileSet(opts.Name, opts.Policies); err != nil {
		return nil, err
	}
	if l.plans, err = compilePlans(opts.Name, opts.Plans); err != nil {
		return nil, err
	}
	if l.exemptIPs, err = compileExemptIPs(opts.ExemptIPs); err != nil {
		return nil, err
	}
	if l.exemptKeys, err = compileExemptKeys(opts.ExemptKeys); err != nil {
		return nil, err
	}
	if err := l.openStores(opts.Clock); err != nil {
		return nil, err
	}
	return l, nil
}

// checkOptions refuses the options New cannot start from.
func checkOptions(opts Options) error {
	switch {
	case len(opts.Name) > 32 || opts.Name != "" && !validName(opts.Name):
		return errs.Configf("ratelimit: Options.Name %q must be up to 32 characters of [a-z0-9_-] starting with a letter", opts.Name)
	case opts.OnStoreError > FailLocal:
		return errs.Configf("ratelimit: unknown Options.OnStoreError %d", opts.OnStoreError)
	case opts.NoKey > NoKeyDeny:
		return errs.Configf("ratelimit: unknown Options.NoKey %d", opts.NoKey)
	case len(opts.Plans) > 0 && opts.Plan == nil:
		return errs.Configf("ratelimit: Options.Plans needs Options.Plan to choose among them")
	}
	return nil
}

// compilePlans validates each plan like the default policies.
func compilePlans(name string, plans map[string][]Policy) (map[string]*policySet, error) {
	if len(plans) == 0 {
		return nil, nil
	}
	out := make(map[string]*policySet, len(plans))
	for plan, ps := range plans {
		set, err := compileSet(name, ps)
		if err != nil {
			return nil, errs.Configf("ratelimit: plan %q: %w", plan, err)
		}
		out[plan] = set
	}
	return out, nil
}

func compileExemptIPs(in []netip.Prefix) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range in {
		if !p.IsValid() {
			return nil, errs.Configf("ratelimit: Options.ExemptIPs holds an invalid prefix")
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func compileExemptKeys(in []string) (map[string]struct{}, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]struct{}, len(in))
	for _, k := range in {
		if k == "" {
			return nil, errs.Configf("ratelimit: Options.ExemptKeys holds an empty key")
		}
		out[k] = struct{}{}
	}
	return out, nil
}

// openStores creates the stores the options leave to the Limiter (a
// memory store, the FailLocal fallback) and checks that the store runs
// every policy's algorithm.
func (l *Limiter) openStores(clock func() time.Time) error {
	var err error
	if l.store == nil {
		if l.mem, err = NewMemoryStore(MemoryOptions{}); err != nil {
			return err
		}
		l.store, l.ownStore = l.mem, true
	} else if m, ok := l.store.(*MemoryStore); ok {
		l.mem = m
	}
	l.ipOnly = l.mem != nil && len(l.key.parts) == 1 && l.key.parts[0].kind == partIP
	for _, set := range l.sets() {
		for _, p := range set.ps {
			if !l.store.supports(p.Algorithm) {
				l.closeOwned()
				return errs.Configf("ratelimit: policy %q: the store cannot run %s (a ulule limiter.Store runs fixed windows only)", p.Name, p.Algorithm)
			}
		}
	}
	if l.onError == FailLocal && l.fallback == nil {
		if l.fallback, err = NewMemoryStore(MemoryOptions{Clock: clock}); err != nil {
			l.closeOwned()
			return err
		}
		l.ownFB = true
	}
	return nil
}

func (l *Limiter) sets() []*policySet {
	out := []*policySet{l.def}
	for _, s := range l.plans {
		out = append(out, s)
	}
	return out
}

func (l *Limiter) closeOwned() {
	if l.ownStore {
		_ = l.store.Close()
	}
	if l.ownFB && l.fallback != nil {
		_ = l.fallback.Close()
	}
}

// Close closes the stores the Limiter created itself (never Options.Store
// or Options.Fallback).
func (l *Limiter) Close() error {
	l.closeOwned()
	return nil
}

// Stats returns the store-failure counters.
func (l *Limiter) Stats() Stats {
	return Stats{
		StoreErrors: l.stats.errors.Load(), FailedOpen: l.stats.open.Load(),
		FailedClosed: l.stats.closed.Load(), FailedLocal: l.stats.local.Load(),
	}
}

// Policies returns the default policies, as declared.
func (l *Limiter) Policies() []Policy {
	out := make([]Policy, len(l.def.ps))
	for i, p := range l.def.ps {
		out[i] = p.Policy
	}
	return out
}

// ErrUnknownPlan is returned by AllowPlan for a plan not in Options.Plans.
var ErrUnknownPlan = errors.New("ratelimit: unknown plan")

// Allow takes n units for key from every default policy, or from none,
// and reports the outcome. n = 0 only reads the quota; negative n counts
// as 1. When the store fails, the failure policy decides: FailOpen allows,
// FailLocal asks the fallback store, FailClosed returns an error wrapping
// ErrStore.
func (l *Limiter) Allow(ctx context.Context, key string, n int64) (Result, error) {
	var res Result
	err := l.decide(ctx, l.def, []byte(key), n, &res)
	return res, err
}

// AllowPlan is Allow under the named plan's policies.
func (l *Limiter) AllowPlan(ctx context.Context, plan, key string, n int64) (Result, error) {
	set, ok := l.plans[plan]
	if !ok {
		return Result{}, ErrUnknownPlan
	}
	var res Result
	err := l.decide(ctx, set, []byte(key), n, &res)
	return res, err
}

// decide runs one decision with the failure policy applied.
func (l *Limiter) decide(ctx context.Context, set *policySet, key []byte, n int64, res *Result) error {
	if n < 0 {
		n = 1
	}
	if l.mem != nil {
		l.mem.decideHash(set, l.mem.hash(set, key), n, res)
		return nil
	}
	// Other stores are called through an interface, which escape analysis
	// cannot see through: they get copies, so the caller's key buffer and
	// result stay on its stack.
	return l.decideRemote(ctx, set, cloneBytes(key), n, res)
}

func (l *Limiter) decideRemote(ctx context.Context, set *policySet, key []byte, n int64, res *Result) error {
	var err error
	if l.retry > 0 && l.downUntil.Load() > l.clock().UnixNano() {
		err = errStoreDown
	} else {
		out := new(Result)
		if err = l.store.decide(ctx, set, key, n, out); err == nil {
			*res = *out
			return nil
		}
		if l.retry > 0 {
			l.downUntil.Store(l.clock().Add(l.retry).UnixNano())
		}
	}
	l.stats.errors.Add(1)
	l.logStoreError(ctx, err)
	switch l.onError {
	case FailOpen:
		l.stats.open.Add(1)
		*res = Result{Allowed: true}
		return nil
	case FailLocal:
		l.stats.local.Add(1)
		l.fallback.decideHash(set, l.fallback.hash(set, key), n, res)
		return nil
	}
	l.stats.closed.Add(1)
	return err
}

var errStoreDown = errors.Join(ErrStore, errors.New("ratelimit: store failed recently; not asked again yet"))

func (l *Limiter) logStoreError(ctx context.Context, err error) {
	now := l.clock().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.logger.LogAttrs(ctx, slog.LevelWarn, "rate-limit store failed",
		slog.String("error", err.Error()), slog.String("policy", l.onError.String()),
		slog.Uint64("store_errors", l.stats.errors.Load()))
}

// String returns "fail_closed", "fail_open" or "fail_local".
func (f FailurePolicy) String() string {
	switch f {
	case FailOpen:
		return "fail_open"
	case FailLocal:
		return "fail_local"
	}
	return "fail_closed"
}
