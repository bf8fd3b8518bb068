package dbkit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

// LoggerOptions configures the GORM logger.
type LoggerOptions struct {
	// SlowQuery is the duration above which a query is logged at Warn.
	// Zero: 200 ms; negative: never.
	SlowQuery time.Duration
	// Level is the most verbose GORM level logged. Zero: gormlogger.Warn
	// (failed and slow queries). gormlogger.Info logs every query at Info.
	Level gormlogger.LogLevel
	// LogParams includes bound parameter values in the logged SQL. It is
	// ignored in errs.Production: production logs show placeholders only.
	// The mode is that of the statement's context's errs Renderer
	// (errs.RendererFrom: the request's when the statement runs with the
	// request's context, else the package default).
	LogParams bool
}

// Logger is GORM's slog logger (gormlogger.NewSlogLogger, which logs slow
// queries, and every query at gormlogger.Info, as "SQL executed") with
// three changes: every line carries the request ID from the context; SQL
// keeps its placeholders, without bound values, unless LogParams is set
// outside Production; and a failed statement is logged by dbkit itself, as
// "query failed" at the level its handling deserves (errorLevel) with its
// classified text (driver, code, constraint) rather than the driver's
// message, which may quote values.
type Logger struct {
	gormlogger.Interface // GORM's slog logger
	log                  *slog.Logger
	level                gormlogger.LogLevel
	slow                 time.Duration
	logParams            bool
}

// NewLogger returns a GORM logger writing to l (nil: slog.Default()).
func NewLogger(l *slog.Logger, o LoggerOptions) *Logger {
	if l == nil {
		l = slog.Default()
	}
	if o.SlowQuery == 0 {
		o.SlowQuery = 200 * time.Millisecond
	}
	if o.Level == 0 {
		o.Level = gormlogger.Warn
	}
	l = slog.New(requestIDHandler{l.Handler()})
	return &Logger{
		Interface: gormlogger.NewSlogLogger(l, gormlogger.Config{
			SlowThreshold:             max(o.SlowQuery, 0),
			LogLevel:                  o.Level,
			IgnoreRecordNotFoundError: true,
		}),
		log:       l,
		level:     o.Level,
		slow:      o.SlowQuery,
		logParams: o.LogParams,
	}
}

// LogMode returns a copy logging at level.
func (l *Logger) LogMode(level gormlogger.LogLevel) gormlogger.Interface {
	c := *l
	c.level = level
	c.Interface = l.Interface.LogMode(level)
	return &c
}

// ParamsFilter drops bound values from logged SQL unless LogParams is set
// and the errs Renderer of ctx (errs.RendererFrom) is not in Production.
func (l *Logger) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	if l.logParams && errs.RendererFrom(ctx).Mode() != errs.Production {
		return sql, params
	}
	return sql, nil
}

// Trace logs a finished statement: a failure (other than record not
// found) as "query failed" at errorLevel's level, a slow one at Warn, and
// every one at Info when the level is gormlogger.Info. A statement that is
// not logged costs no formatting.
func (l *Logger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	switch {
	case l.level <= gormlogger.Silent:
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		if l.level >= gormlogger.Error {
			l.failed(ctx, begin, fc, err)
		}
	case l.level >= gormlogger.Info || l.level >= gormlogger.Warn && l.slow > 0 && time.Since(begin) > l.slow:
		l.Interface.Trace(ctx, begin, fc, nil)
	}
}

func (l *Logger) failed(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	lvl := errorLevel(err)
	if !l.log.Enabled(ctx, lvl) {
		return
	}
	text := "dbkit: unclassified database error"
	if d := Classify(err); d != nil {
		text = d.Error()
	} else if errs.RendererFrom(ctx).Mode() != errs.Production {
		text = err.Error()
	}
	sql, rows := fc()
	l.log.LogAttrs(ctx, lvl, "query failed", slog.Duration("duration", time.Since(begin)),
		slog.Int64("rows", rows), slog.String("sql", sql), slog.String("error", text))
}

var _ gormlogger.Interface = (*Logger)(nil)
var _ gorm.ParamsFilter = (*Logger)(nil)

// requestIDHandler adds the request ID of the record's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := observe.RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// errorLevel is the level a failed statement is logged at: Debug for
// errors the caller handles as a matter of course (a serialization failure
// Tx retries, a constraint violation MapError answers with 4xx, a canceled
// request), Warn for an unavailable or slow database (503, 504), Error for
// everything dbkit does not recognise.
func errorLevel(err error) slog.Level {
	if errors.Is(err, context.Canceled) {
		return slog.LevelDebug
	}
	d := Classify(err)
	if d == nil {
		return slog.LevelError
	}
	switch d.Class {
	case ClassOther:
		return slog.LevelError
	case ClassTimeout, ClassConnection:
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
