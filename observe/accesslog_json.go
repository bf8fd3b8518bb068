package observe

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
)

// lineWriter writes access-log records to AccessLogOptions.Writer as JSON
// lines, in the same bytes slog.NewJSONHandler(w, nil) would write, with
// an encoder that knows the record's fixed fields. Each record is one
// Write call under mu, so lines from concurrent requests never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// maxPooledLine bounds the buffers kept for reuse, so one huge record
// does not pin its buffer for the life of the process.
const maxPooledLine = 4 << 10

var lineBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// accessFields are a record's fixed fields, in the order they are logged.
type accessFields struct {
	start                   time.Time
	level                   slog.Level
	msg                     string
	method, route, clientIP string
	requestID               string
	span                    trace.SpanContext // logged when local and valid
	status                  int
	bytes                   int64
	elapsed                 time.Duration
	extra                   []slog.Attr
	hijacked, panicked      bool
}

// write encodes f as one line and writes it. Records the fast encoder does
// not cover go through slog's own JSON handler, into the same buffer, so
// the output is the same either way: attributes of kinds other than
// strings, integers, booleans, durations and times (floats, Any values,
// LogValuers, groups), attributes with an empty key, and times that are
// zero or outside the years 0–9999.
func (lw *lineWriter) write(f *accessFields) {
	bp := lineBuffers.Get().(*[]byte)
	b, ok := appendAccessJSON((*bp)[:0], f)
	if !ok {
		b = appendAccessSlog(b[:0], f)
	}
	lw.writeLocked(b)
	if cap(b) <= maxPooledLine {
		*bp = b
		lineBuffers.Put(bp)
	}
}

// writeLocked writes b under mu, released even when the Writer panics.
func (lw *lineWriter) writeLocked(b []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, _ = lw.w.Write(b)
}

// appendAccessJSON appends f as a JSON line, or reports false when f holds
// something only slog's handler encodes.
func appendAccessJSON(b []byte, f *accessFields) ([]byte, bool) {
	if y := f.start.Year(); y < 0 || y > 9999 || f.start.IsZero() {
		return b, false // slog writes an error or no time at all
	}
	b = appendFixedFields(b, f)
	for _, a := range f.extra {
		var ok bool
		if b, ok = appendAttr(b, a); !ok {
			return b, false
		}
	}
	if f.hijacked {
		b = append(b, `,"hijacked":true`...)
	}
	if f.panicked {
		b = append(b, `,"panic":true`...)
	}
	return append(b, "}\n"...), true
}

// appendFixedFields appends the record's opening brace and the fields every
// record has, through the trace IDs.
func appendFixedFields(b []byte, f *accessFields) []byte {
	b = append(b, `{"time":"`...)
	b = f.start.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendJSONString(b, f.level.String())
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, f.msg)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, f.method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, f.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(f.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, f.bytes, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(f.elapsed), 10)
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, f.clientIP)
	if f.requestID != "" {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, f.requestID)
	}
	if f.traced() {
		tid, sid := f.span.TraceID(), f.span.SpanID()
		b = append(b, `,"trace_id":"`...)
		b = appendHex(b, tid[:])
		b = append(b, `","span_id":"`...)
		b = appendHex(b, sid[:])
		b = append(b, '"')
	}
	return b
}

// appendAttr appends an added attribute as `,"key":value`, or reports
// false for one only slog's handler encodes.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // slog drops some of these and inlines others
	}
	b = append(b, ',')
	b = appendJSONString(b, a.Key)
	b = append(b, ':')
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		b = appendJSONString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y > 9999 {
			return b, false
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	default:
		return b, false
	}
	return b, true
}

// appendAccessSlog appends f as slog's JSON handler writes it.
func appendAccessSlog(b []byte, f *accessFields) []byte {
	buf := bytes.NewBuffer(b)
	_ = slog.NewJSONHandler(buf, nil).Handle(context.Background(), f.record())
	return buf.Bytes()
}

// traced reports whether the record carries trace_id and span_id: a span
// this process started is active (see activeSpan).
func (f *accessFields) traced() bool {
	return f.span.IsValid() && !f.span.IsRemote()
}

// record returns f as a slog record. Its time is when the request
// arrived, as in common access-log formats.
func (f *accessFields) record() slog.Record {
	var buf [12]slog.Attr
	attrs := append(buf[:0],
		slog.String("method", f.method),
		slog.String("route", f.route),
		slog.Int("status", f.status),
		slog.Int64("bytes", f.bytes),
		slog.Duration("duration", f.elapsed),
		slog.String("client_ip", f.clientIP),
	)
	if f.requestID != "" {
		attrs = append(attrs, slog.String("request_id", f.requestID))
	}
	if f.traced() {
		attrs = append(attrs,
			slog.String("trace_id", f.span.TraceID().String()),
			slog.String("span_id", f.span.SpanID().String()))
	}
	attrs = append(attrs, f.extra...)
	if f.hijacked {
		attrs = append(attrs, slog.Bool("hijacked", true))
	}
	if f.panicked {
		attrs = append(attrs, slog.Bool("panic", true))
	}
	r := slog.NewRecord(f.start, f.level, f.msg, 0)
	r.AddAttrs(attrs...)
	return r
}

const hex = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way log/slog escapes
// it: quote, backslash and control characters escaped (\n, \r and \t by
// name, the rest as \u00XX), each byte of invalid UTF-8 replaced by
// \ufffd, and U+2028 and U+2029 escaped so the line is also valid
// JavaScript. Everything else, HTML characters included, is kept.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
