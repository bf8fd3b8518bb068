package errs

import (
	"path"
	"runtime"
	"strconv"
	"strings"
)

// Frame is one stack frame with a package-relative file name: the import
// path of the function's package followed by the file's base name, never an
// absolute path or a module-cache prefix.
type Frame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
}

// String returns "func (file:line)".
func (f Frame) String() string { return f.Func + " (" + f.File + ":" + strconv.Itoa(f.Line) + ")" }

// Frames converts program counters to frames, dropping runtime internals.
func Frames(pcs []uintptr, limit int) []Frame {
	if len(pcs) == 0 {
		return nil
	}
	out := make([]Frame, 0, min(len(pcs), max(limit, 1)))
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") {
			out = append(out, Frame{Func: funcName(f.Function), File: relFile(f.Function, f.File), Line: f.Line})
			if limit > 0 && len(out) == limit {
				break
			}
		}
		if !more {
			break
		}
	}
	return out
}

// funcName drops the directory part of a fully qualified function name.
func funcName(fn string) string {
	return fn[strings.LastIndexByte(fn, '/')+1:]
}

// relFile names file by its package's import path, derived from the function
// name (github.com/a/b/pkg.(*T).M in /root/go/pkg/mod/.../pkg/t.go becomes
// github.com/a/b/pkg/t.go), so no machine path leaks.
func relFile(fn, file string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	pkg := fn
	if dot >= 0 {
		pkg = fn[:slash+1+dot]
	}
	return pkg + "/" + path.Base(file)
}

// Stack returns the frames recorded when the error was made (5xx errors and
// recovered panics record one), or nil.
func (e *Error) Stack() []Frame { return Frames(e.stack, 0) }
