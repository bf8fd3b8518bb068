package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/outbound"
)

// JWKSOptions configure a JWKS key set.
type JWKSOptions struct {
	// URL of the key set; required, https only.
	URL string
	// AllowedHosts lists the hosts the key set may be fetched from
	// (redirects included); required, and must contain URL's host.
	AllowedHosts []string
	// Client fetches the key set. Nil: a client with a 10 s timeout. Its
	// redirect policy is replaced by one that stays on AllowedHosts.
	Client *http.Client
	// MaxBodySize caps the document. Zero: 256 KiB.
	MaxBodySize int64
	// MinRefresh and MaxRefresh clamp the refresh interval the provider
	// asks for with Cache-Control max-age. Zero: 5 minutes and 24 hours.
	// MinRefresh is also the retry interval while the provider is down.
	MinRefresh, MaxRefresh time.Duration
	// UnknownKIDInterval is how often a token with an unknown kid may
	// trigger a refresh. Zero: 30 seconds.
	UnknownKIDInterval time.Duration
	// FetchTimeout bounds one fetch. Zero: 10 seconds.
	FetchTimeout time.Duration
}

// JWKS is a KeySet fetched from a provider's JWKS endpoint and refreshed in
// the background. When a refresh fails the keys already known stay in use.
// A token with an unknown kid triggers at most one refresh per
// UnknownKIDInterval; concurrent requests share it, and requests that come
// when no refresh may start fail at once instead of waiting.
type JWKS struct {
	opts   JWKSOptions
	client *http.Client

	keys atomic.Pointer[map[string]Key]

	mu          sync.Mutex
	inflight    *fetchCall
	lastUnknown time.Time
	fetches     atomic.Int64

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type fetchCall struct {
	done     chan struct{}
	err      error
	interval time.Duration
}

// NewJWKS validates opts. Call Start to fetch the keys.
func NewJWKS(opts JWKSOptions) (*JWKS, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errs.Configf("authn: JWKSOptions.URL %q must be an https URL", opts.URL)
	}
	if len(opts.AllowedHosts) == 0 {
		return nil, errs.Configf("authn: JWKSOptions.AllowedHosts is required")
	}
	if !slices.Contains(opts.AllowedHosts, u.Hostname()) {
		return nil, errs.Configf("authn: JWKSOptions.URL host %q is not in AllowedHosts", u.Hostname())
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.MinRefresh, 5*time.Minute)
	def(&opts.MaxRefresh, 24*time.Hour)
	def(&opts.UnknownKIDInterval, 30*time.Second)
	def(&opts.FetchTimeout, 10*time.Second)
	if opts.MaxBodySize == 0 {
		opts.MaxBodySize = 256 << 10
	}
	if opts.MinRefresh < time.Second || opts.MaxRefresh < opts.MinRefresh {
		return nil, errs.Configf("authn: JWKSOptions: MinRefresh must be at least 1s and MaxRefresh at least MinRefresh")
	}
	if opts.UnknownKIDInterval < time.Second || opts.FetchTimeout <= 0 || opts.MaxBodySize < 0 {
		return nil, errs.Configf("authn: JWKSOptions: UnknownKIDInterval, FetchTimeout or MaxBodySize out of range")
	}
	j := &JWKS{opts: opts, client: outbound.Client(opts.Client, opts.FetchTimeout, opts.AllowedHosts...), stop: make(chan struct{}), done: make(chan struct{})}
	empty := map[string]Key{}
	j.keys.Store(&empty)
	return j, nil
}

// Start fetches the key set once and starts refreshing it in the background
// until ctx ends or Close is called. A failed first fetch is returned, but
// the background refresh keeps trying.
func (j *JWKS) Start(ctx context.Context) error {
	err := j.fetchShared(ctx, true)
	go j.loop(ctx)
	return err
}

// Fetch fetches the key set now, or joins the fetch in flight, without
// starting the background refresh (Start does both). The OIDC client
// uses it to load a provider's keys at construction.
func (j *JWKS) Fetch(ctx context.Context) error {
	return j.fetchShared(ctx, true)
}

// Close stops the background refresh and waits for it.
func (j *JWKS) Close() {
	j.once.Do(func() { close(j.stop) })
	<-j.done
}

func (j *JWKS) loop(ctx context.Context) {
	defer close(j.done)
	interval := j.lastInterval()
	for {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-j.stop:
			t.Stop()
			return
		case <-t.C:
		}
		_ = j.fetchShared(ctx, true)
		interval = j.lastInterval()
	}
}

// lastInterval is the wait before the next background refresh.
func (j *JWKS) lastInterval() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight != nil {
		select {
		case <-j.inflight.done:
			if j.inflight.err == nil {
				return j.inflight.interval
			}
		default:
		}
	}
	return j.opts.MinRefresh
}

// fetchShared joins the fetch in flight (singleflight) or, when start is
// true, starts one; with start false and nothing in flight it returns at
// once.
func (j *JWKS) fetchShared(ctx context.Context, start bool) error {
	j.mu.Lock()
	call := j.inflight
	if call != nil {
		select {
		case <-call.done:
			call = nil // finished: start a new one
		default:
		}
	}
	if call == nil {
		if !start {
			j.mu.Unlock()
			return nil
		}
		call = &fetchCall{done: make(chan struct{})}
		j.inflight = call
		go func() {
			// Detached from the caller: a canceled request must not
			// abort a fetch other requests wait for.
			fctx, cancel := context.WithTimeout(context.Background(), j.opts.FetchTimeout)
			defer cancel()
			call.interval, call.err = j.fetch(fctx)
			close(call.done)
		}()
	}
	j.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fetches returns how many fetches have been attempted, for metrics.
func (j *JWKS) Fetches() int64 { return j.fetches.Load() }

func (j *JWKS) fetch(ctx context.Context) (time.Duration, error) {
	j.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.opts.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return 0, errors.New("authn: JWKS fetch: status " + strconv.Itoa(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.opts.MaxBodySize+1))
	if err != nil {
		return 0, err
	}
	if int64(len(body)) > j.opts.MaxBodySize {
		return 0, errors.New("authn: JWKS document exceeds MaxBodySize")
	}
	keys, err := parseJWKSet(body)
	if err != nil {
		return 0, err
	}
	j.keys.Store(&keys)
	return j.clamp(maxAge(resp.Header.Get("Cache-Control"))), nil
}

// parseJWKSet decodes a key set, skipping keys this package cannot use
// (encryption keys, unsupported types); a set with no usable key is an
// error, so a broken document never replaces good keys.
func parseJWKSet(body []byte) (map[string]Key, error) {
	var set jwkSet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	keys := make(map[string]Key, len(set.Keys))
	for _, raw := range set.Keys {
		k, err := ParseJWK(raw)
		if err != nil {
			continue
		}
		if _, dup := keys[k.ID]; dup {
			// Two keys claiming one kid: trust neither.
			keys[k.ID] = Key{}
			continue
		}
		keys[k.ID] = k
	}
	for id, k := range keys {
		if k.Key == nil {
			delete(keys, id)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("authn: JWKS document has no usable key")
	}
	return keys, nil
}

// maxAge returns Cache-Control's max-age, or -1.
func maxAge(cc string) time.Duration {
	for part := range strings.SplitSeq(cc, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(part)), "max-age=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
		if err != nil || n < 0 {
			return -1
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	return -1
}

func (j *JWKS) clamp(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return j.opts.MinRefresh * 12 // no hint: an hour at the default
	case d < j.opts.MinRefresh:
		return j.opts.MinRefresh
	case d > j.opts.MaxRefresh:
		return j.opts.MaxRefresh
	}
	return d
}

// VerificationKey implements KeySet. An unknown kid may trigger a refresh
// (see JWKS); a request waits only for a refresh already allowed to run.
func (j *JWKS) VerificationKey(ctx context.Context, kid string) (Key, error) {
	if k, ok, err := j.lookup(kid); ok {
		return k, err
	}
	j.mu.Lock()
	now := time.Now()
	allowed := now.Sub(j.lastUnknown) >= j.opts.UnknownKIDInterval
	if allowed {
		j.lastUnknown = now
	}
	j.mu.Unlock()
	// A failed refresh leaves the keys we had in use; the kid stays
	// unknown either way, so the error itself does not matter here.
	_ = j.fetchShared(ctx, allowed)
	if k, ok, err := j.lookup(kid); ok {
		return k, err
	}
	return Key{}, &authn.ReasonError{Reason: "unknown_kid", Err: errUnknownKID}
}

// lookup finds kid among the current keys; ok is false when a refresh
// might help.
func (j *JWKS) lookup(kid string) (Key, bool, error) {
	keys := *j.keys.Load()
	if kid == "" {
		if len(keys) == 1 {
			for _, k := range keys {
				return k, true, nil
			}
		}
		return Key{}, true, &authn.ReasonError{Reason: "missing_kid"}
	}
	k, ok := keys[kid]
	return k, ok, nil
}
