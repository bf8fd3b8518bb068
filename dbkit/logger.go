package dbkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

// LoggerOptions configures the GORM logger.
type LoggerOptions struct {
	// SlowQuery is the duration above which a query is logged at Warn as
	// "slow query". Zero: 200 ms; negative: never.
	SlowQuery time.Duration
	// Level is the most verbose GORM level logged. Zero: gormlogger.Warn
	// (failed and slow queries). gormlogger.Info logs every query at Debug.
	Level gormlogger.LogLevel
	// LogParams includes bound parameter values in the logged SQL. It is
	// ignored in errs.Production: production logs show placeholders only.
	LogParams bool
}

// Logger is a GORM logger writing to log/slog. Every line carries the
// request ID from the context; SQL is logged with placeholders, never bound
// values, unless LogParams is set outside Production; an error is logged by
// its classified text (driver, code, constraint), since driver messages may
// quote values.
type Logger struct {
	log       *slog.Logger
	level     gormlogger.LogLevel
	slow      time.Duration
	logParams bool
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
	return &Logger{log: l, level: o.Level, slow: o.SlowQuery, logParams: o.LogParams}
}

// LogMode returns a copy logging at level.
func (l *Logger) LogMode(level gormlogger.LogLevel) gormlogger.Interface {
	c := *l
	c.level = level
	return &c
}

func (l *Logger) printf(ctx context.Context, lvl slog.Level, min gormlogger.LogLevel, msg string, args []any) {
	if l.level < min || !l.log.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]slog.Attr, 0, 1)
	if id := observe.RequestIDFrom(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	l.log.LogAttrs(ctx, lvl, fmt.Sprintf(msg, args...), attrs...)
}

// Info logs GORM's informational messages at Info.
func (l *Logger) Info(ctx context.Context, msg string, args ...any) {
	l.printf(ctx, slog.LevelInfo, gormlogger.Info, msg, args)
}

// Warn logs GORM's warnings at Warn.
func (l *Logger) Warn(ctx context.Context, msg string, args ...any) {
	l.printf(ctx, slog.LevelWarn, gormlogger.Warn, msg, args)
}

// Error logs GORM's errors at Error.
func (l *Logger) Error(ctx context.Context, msg string, args ...any) {
	l.printf(ctx, slog.LevelError, gormlogger.Error, msg, args)
}

// ParamsFilter drops bound values from logged SQL unless LogParams is set
// and the mode is not Production.
func (l *Logger) ParamsFilter(_ context.Context, sql string, params ...any) (string, []any) {
	if l.logParams && errs.CurrentMode() != errs.Production {
		return sql, params
	}
	return sql, nil
}

// Trace logs a finished statement: failures at Error (except record not
// found), slow ones at Warn, and all at Debug when the level is Info.
func (l *Logger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if l.level <= gormlogger.Silent {
		return
	}
	elapsed := time.Since(begin)
	var lvl slog.Level
	var msg string
	switch {
	case err != nil && l.level >= gormlogger.Error && !errors.Is(err, gorm.ErrRecordNotFound):
		lvl, msg = errorLevel(err), "query failed"
	case l.slow > 0 && elapsed > l.slow && l.level >= gormlogger.Warn:
		lvl, msg = slog.LevelWarn, "slow query"
	case l.level >= gormlogger.Info:
		lvl, msg = slog.LevelDebug, "query"
	default:
		return
	}
	if !l.log.Enabled(ctx, lvl) {
		return
	}
	sql, rows := fc()
	attrs := make([]slog.Attr, 0, 6)
	if id := observe.RequestIDFrom(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	attrs = append(attrs, slog.Duration("duration", elapsed), slog.Int64("rows", rows), slog.String("sql", sql))
	if err != nil {
		text := err.Error()
		if d := Classify(err); d != nil {
			text = d.Error()
		} else if errs.CurrentMode() == errs.Production {
			text = "dbkit: unclassified database error"
		}
		attrs = append(attrs, slog.String("error", text))
	}
	l.log.LogAttrs(ctx, lvl, msg, attrs...)
}

var _ gormlogger.Interface = (*Logger)(nil)
var _ gorm.ParamsFilter = (*Logger)(nil)

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
