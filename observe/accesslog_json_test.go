package observe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// slogLine is what slog.NewJSONHandler writes for f's record.
func slogLine(t testing.TB, f *accessFields) string {
	t.Helper()
	var buf bytes.Buffer
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), f.record()); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// writerLine is what the Writer option writes for f, and whether the
// record's own encoder wrote it (rather than the slog fallback).
func writerLine(f *accessFields) (line string, fast bool) {
	_, fast = appendAccessJSON(nil, f)
	var buf bytes.Buffer
	(&lineWriter{w: &buf}).write(f)
	return buf.String(), fast
}

func baseFields() accessFields {
	return accessFields{
		start: time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC), level: slog.LevelInfo,
		msg: DefaultAccessLogMessage, method: "GET", route: "/notes/{id}", clientIP: "192.0.2.7",
		requestID: "0123456789abcdef0123456789abcdef", status: 200, bytes: 12, elapsed: 1500 * time.Microsecond,
	}
}

type stringer struct{}

func (stringer) String() string { return "s" }

type logValuer struct{}

func (logValuer) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestWriterLineMatchesSlog(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("", -(3*3600 + 30*60))
	tests := []struct {
		name   string
		change func(*accessFields)
		fast   bool
	}{
		{"plain", func(*accessFields) {}, true},
		{"no request ID", func(f *accessFields) { f.requestID = "" }, true},
		{"warn", func(f *accessFields) { f.level, f.status = slog.LevelWarn, 404 }, true},
		{"panic", func(f *accessFields) { f.level, f.status, f.panicked = slog.LevelError, 500, true }, true},
		{"hijacked", func(f *accessFields) { f.status, f.hijacked = 0, true }, true},
		{"odd level", func(f *accessFields) { f.level = slog.LevelWarn + 2 }, true},
		{"whole second", func(f *accessFields) { f.start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }, true},
		{"zone", func(f *accessFields) { f.start = time.Date(2026, 1, 2, 3, 4, 5, 120000000, zone) }, true},
		{"local time", func(f *accessFields) { f.start = time.Now() }, true},
		{"hostile strings", func(f *accessFields) {
			f.method = "GET\r\n\"}"
			f.route = "/a\\b\u2028\u2029</script>&"
			f.clientIP = "\x00\x01\x1f\x7f\xff\xed\xa0\x80é😀"
			f.msg = "\b\f\t\n\r"
		}, true},
		{"added attributes", func(f *accessFields) {
			f.extra = []slog.Attr{
				slog.String("user", "alice\n"), slog.Int("n", -3), slog.Uint64("u", 1<<63),
				slog.Bool("admin", false), slog.Duration("wait", time.Second),
				slog.Time("at", time.Date(2026, 5, 6, 7, 8, 9, 10, zone)), slog.String("k\"\t", ""),
			}
		}, true},
		{"zero time attribute", func(f *accessFields) { f.extra = []slog.Attr{slog.Time("at", time.Time{})} }, true},
		{"float", func(f *accessFields) { f.extra = []slog.Attr{slog.Float64("ratio", 1e21)} }, false},
		{"any", func(f *accessFields) { f.extra = []slog.Attr{slog.Any("s", stringer{})} }, false},
		{"error", func(f *accessFields) { f.extra = []slog.Attr{slog.Any("err", errors.New("boom"))} }, false},
		{"slice", func(f *accessFields) { f.extra = []slog.Attr{slog.Any("ids", []int{1, 2})} }, false},
		{"log valuer", func(f *accessFields) { f.extra = []slog.Attr{slog.Any("v", logValuer{})} }, false},
		{"group", func(f *accessFields) { f.extra = []slog.Attr{slog.Group("g", slog.Int("x", 1))} }, false},
		{"inline group", func(f *accessFields) { f.extra = []slog.Attr{slog.Group("", slog.Int("x", 1))} }, false},
		{"empty attribute", func(f *accessFields) { f.extra = []slog.Attr{{}, slog.String("a", "b")} }, false},
		{"empty key", func(f *accessFields) { f.extra = []slog.Attr{slog.String("", "v")} }, false},
		{"zero time", func(f *accessFields) { f.start = time.Time{} }, false},
		{"zero time in a zone", func(f *accessFields) { f.start = time.Time{}.In(zone) }, false},
		{"year 10000", func(f *accessFields) { f.start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		{"attribute year -1", func(f *accessFields) {
			f.extra = []slog.Attr{slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := baseFields()
			tc.change(&f)
			got, fast := writerLine(&f)
			if fast != tc.fast {
				t.Errorf("own encoder used: %v, want %v", fast, tc.fast)
			}
			if want := slogLine(t, &f); got != want {
				t.Errorf("Writer line differs from slog's JSON handler:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzWriterLine checks the Writer's encoder against slog's JSON handler
// byte for byte, on arbitrary strings, numbers and times.
func FuzzWriterLine(f *testing.F) {
	f.Add("GET", "/x", "192.0.2.1", "id", "user", "alice", int64(5), int64(1700000000), int64(0), 0, 0)
	f.Add("\"", "\\", "\x00\x1f\x7f", "\u2028", "\xff", "\xed\xa0\x80", int64(-1), int64(-62135596800), int64(999999999), -50400, 8)
	f.Add("é", "😀", "\t\n\r\b\f", "</script>", "", "k", int64(1)<<62, int64(253402300799), int64(1), 50400, -4)
	f.Add("GET", "/x", "", "", "k", "v", int64(0), int64(-62135596801), int64(1e9), -50400, 0)
	f.Fuzz(func(t *testing.T, method, route, clientIP, requestID, key, val string, n, sec, nsec int64, offset, level int) {
		zone := time.FixedZone("", offset%(24*3600))
		at := time.Unix(sec, nsec).In(zone)
		fl := accessFields{
			start: at, level: slog.Level(level), msg: val, method: method, route: route,
			clientIP: clientIP, requestID: requestID, status: int(n % 1000), bytes: n, elapsed: time.Duration(n),
			extra: []slog.Attr{
				slog.String(key, val), slog.Int64(key+"n", n), slog.Uint64("u", uint64(n)),
				slog.Bool("b", n%2 == 0), slog.Duration("d", time.Duration(-n)), slog.Time("t", at),
			},
			hijacked: n%3 == 0, panicked: n%5 == 0,
		}
		if n%7 == 0 {
			fl.span = spanContext(n%2 == 0)
		}
		got, _ := writerLine(&fl)
		if want := slogLine(t, &fl); got != want {
			t.Fatalf("Writer line differs from slog's JSON handler:\n got %q\nwant %q", got, want)
		}
		if !strings.HasSuffix(got, "}\n") || strings.Count(got, "\n") != 1 {
			t.Fatalf("not one line: %q", got)
		}
	})
}

type panickingWriter struct{ calls int }

func (w *panickingWriter) Write(p []byte) (int, error) {
	if w.calls++; w.calls == 1 {
		panic("writer failed")
	}
	return len(p), nil
}

// A Writer that panics does not leave the lock held: the next record is
// still written.
func TestWriterLinePanickingWriter(t *testing.T) {
	t.Parallel()
	w := &panickingWriter{}
	lw := &lineWriter{w: w}
	f := baseFields()
	func() {
		defer func() { _ = recover() }()
		lw.write(&f)
	}()
	done := make(chan struct{})
	go func() {
		lw.write(&f)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the second write is still blocked after the first panicked")
	}
	if w.calls != 2 {
		t.Errorf("Write called %d times, want 2", w.calls)
	}
}

// A huge record is written whole, and its buffer is not kept for reuse.
func TestWriterLineHugeRecord(t *testing.T) {
	t.Parallel()
	f := baseFields()
	f.route = strings.Repeat("r", 3*maxPooledLine)
	got, fast := writerLine(&f)
	if !fast || got != slogLine(t, &f) {
		t.Fatalf("huge record: fast %v, line of %d bytes", fast, len(got))
	}
	for range 10 {
		bp := lineBuffers.Get().(*[]byte)
		if cap(*bp) > maxPooledLine {
			t.Fatalf("a %d-byte buffer went back to the pool", cap(*bp))
		}
	}
}
