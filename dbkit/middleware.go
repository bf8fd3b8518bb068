package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// MiddlewareOptions configures the request-scoped database stage.
type MiddlewareOptions struct {
	// Transaction wraps each request in a transaction: From returns it, it
	// commits when the handler sends a 1xx-3xx status (before the status is
	// sent, so a failed commit still becomes a problem response) and rolls
	// back on 4xx/5xx or a panic. It is not retried: a conflict at COMMIT is
	// answered with 409 and Retry-After. All database work must happen
	// before the handler writes its status. Stages that act when the
	// response starts run innermost first, so mount this stage outside the
	// session stage and bodylimit: the commit then comes after they have
	// settled the response, never before a response they replace.
	Transaction bool
	// Isolation and ReadOnly configure that transaction.
	Isolation sql.IsolationLevel
	ReadOnly  bool
	// Timeout bounds each request's context, and so every query it runs and
	// every wait for a pooled connection, in addition to any deadline the
	// request already has. Zero: 30 s; negative: no bound beyond the
	// request's own deadline.
	Timeout time.Duration
	// ReadYourWritesWindow, when positive, extends read-your-writes past the
	// request: after a request writes, a cookie makes the same client's
	// reads go to the primary for this long (replica lag should be below
	// it). Zero: within the request only.
	ReadYourWritesWindow time.Duration
	// CookieName names that cookie. Zero: "covet_ryw".
	CookieName string
}

// Middleware is the stage that gives each request its database handle.
type Middleware struct {
	db     *DB
	o      MiddlewareOptions
	cookie string
}

// NewMiddleware returns the stage for db.
func NewMiddleware(db *DB, o MiddlewareOptions) (*Middleware, error) {
	if db == nil {
		return nil, errs.Configf("dbkit: NewMiddleware needs a DB")
	}
	if o.ReadYourWritesWindow < 0 {
		return nil, errs.Configf("dbkit: MiddlewareOptions.ReadYourWritesWindow must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.CookieName == "" {
		o.CookieName = "covet_ryw"
	}
	if !validCookieName(o.CookieName) {
		return nil, errs.Configf("dbkit: MiddlewareOptions.CookieName %q is not a valid cookie name", o.CookieName)
	}
	return &Middleware{db: db, o: o, cookie: o.CookieName}, nil
}

func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

type scopeKey struct{}

// From returns the request's database handle, bound to ctx: the request's
// transaction when the Middleware runs with Transaction (or ctx is inside
// Tx), otherwise a GORM session tracking read-your-writes. It returns nil
// when ctx comes from neither.
func From(ctx context.Context) *gorm.DB {
	if st := txFrom(ctx); st != nil {
		return st.tx.WithContext(ctx)
	}
	if db, ok := ctx.Value(scopeKey{}).(*gorm.DB); ok {
		return db.WithContext(ctx)
	}
	return nil
}

// Handler is the stage.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if m.o.ReadYourWritesWindow > 0 && m.pinned(r) {
			ctx = WithIntent(ctx, IntentPrimary)
		}
		// A fresh tracker per request: it records this request's writes only.
		ctx = context.WithValue(ctx, rywKey{}, &rywState{})
		if m.o.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, m.o.Timeout)
			defer cancel()
		}
		rw := &txWriter{m: m}
		rw.out.Reset(w, rw)
		if m.o.Transaction {
			var opts *sql.TxOptions
			if m.o.Isolation != sql.LevelDefault || m.o.ReadOnly {
				opts = &sql.TxOptions{Isolation: m.o.Isolation, ReadOnly: m.o.ReadOnly}
			}
			tx := m.db.gorm.WithContext(ctx).Begin(opts)
			if tx.Error != nil {
				errs.Write(w, r, m.db.MapErrorContext(r.Context(), tx.Error))
				return
			}
			st := &txState{}
			ctx = context.WithValue(ctx, txKey{}, st)
			st.tx = tx.WithContext(ctx)
			rw.tx = tx
			defer func() {
				if rw.tx != nil {
					rw.tx.Rollback()
					rw.tx = nil
				}
			}()
		} else {
			ctx = context.WithValue(ctx, scopeKey{}, m.db.gorm)
		}
		rw.ctx = ctx
		rw.r = r.WithContext(ctx)
		next.ServeHTTP(&rw.out, rw.r)
		if !rw.decided {
			_ = rw.decide(w, http.StatusOK)
		}
	})
}

// pinned reports whether the request carries an unexpired
// read-your-writes cookie.
func (m *Middleware) pinned(r *http.Request) bool {
	c, err := r.Cookie(m.cookie)
	if err != nil || len(c.Value) > 20 {
		return false
	}
	until, err := strconv.ParseInt(c.Value, 10, 64)
	now := time.Now().UnixMilli()
	// A deadline further out than the window did not come from this stage;
	// honouring it would let a client pin its reads to the primary.
	return err == nil && now < until && until <= now+m.o.ReadYourWritesWindow.Milliseconds()
}

// errResponseReplaced is what a handler's Write gets once a failed commit
// replaced its response with a problem response.
var errResponseReplaced = errors.New("dbkit: the response was replaced because the transaction did not commit")

// txWriter commits or rolls back the request's transaction when the
// status is decided, just before the response starts, and sets the
// read-your-writes cookie. The handler writes through out, the shared
// wrapper, which runs BeforeStart at that moment.
type txWriter struct {
	out     httpx.Writer
	m       *Middleware
	r       *http.Request
	ctx     context.Context
	tx      *gorm.DB
	decided bool
}

// BeforeStart decides the transaction as the response starts with code
// (101 for a hijack: a hijacked connection has no status to wait for).
func (w *txWriter) BeforeStart(rw http.ResponseWriter, code int) error {
	return w.decide(rw, code)
}

// decide commits on a 1xx-3xx status and rolls back on 4xx/5xx. When the
// commit fails it answers with the problem on rw, without the headers of
// the handler's answer (errs.Replace), and returns errResponseReplaced.
func (w *txWriter) decide(rw http.ResponseWriter, code int) error {
	w.decided = true
	if tx := w.tx; tx != nil {
		w.tx = nil
		if code >= 400 {
			tx.Rollback()
		} else if err := commit(w.ctx, tx); err != nil {
			errs.Replace(rw, w.r, w.m.db.MapErrorContext(w.r.Context(), err))
			return errResponseReplaced
		}
	}
	if w.m.o.ReadYourWritesWindow > 0 && Wrote(w.ctx) {
		until := time.Now().Add(w.m.o.ReadYourWritesWindow)
		http.SetCookie(rw, &http.Cookie{
			Name:     w.m.cookie,
			Value:    strconv.FormatInt(until.UnixMilli(), 10),
			Path:     "/",
			MaxAge:   int((w.m.o.ReadYourWritesWindow + time.Second - 1) / time.Second),
			HttpOnly: true,
			Secure:   w.r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
	}
	return nil
}

func commit(ctx context.Context, tx *gorm.DB) error {
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit().Error; err != nil {
		return commitError(err)
	}
	return nil
}
