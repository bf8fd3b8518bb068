package errs

import (
	"path"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Frame is one stack frame with a package-relative file name: the import
// path of the package whose source the frame is in, followed by the file's
// base name, never an absolute path or a module-cache prefix.
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
	raw := make([]runtime.Frame, 0, min(len(pcs), max(limit, 1)))
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") {
			raw = append(raw, f)
			if limit > 0 && len(raw) == limit {
				break
			}
		}
		if !more {
			break
		}
	}
	for _, f := range raw {
		if !isClosure(f.Function) {
			sources.learn(funcPkg(f.Function), path.Dir(f.File))
		}
	}
	out := make([]Frame, len(raw))
	for i, f := range raw {
		out[i] = Frame{Func: funcName(f.Function), File: relFile(f.Function, f.File), Line: f.Line}
	}
	return out
}

// funcName drops the directory part of a fully qualified function name.
func funcName(fn string) string {
	return fn[strings.LastIndexByte(typeArgsCut(fn), '/')+1:]
}

// typeArgsCut drops the type arguments of a generic function's name, which
// may hold import paths of their own.
func typeArgsCut(fn string) string {
	if i := strings.IndexByte(fn, '['); i >= 0 {
		return fn[:i]
	}
	return fn
}

// funcPkg is the import path of the package a function name belongs to,
// without the _test suffix of an external test package.
func funcPkg(fn string) string {
	fn = typeArgsCut(fn)
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		fn = fn[:slash+1+dot]
	}
	return strings.TrimSuffix(fn, "_test")
}

// isClosure reports whether fn names a function literal. The compiler names
// a closure after the function it was compiled into, which is another
// package's function when the enclosing function was inlined there
// (main.main.Handler.func1 for a closure in ratelimit's Handler), so its
// name says nothing about where its source is.
func isClosure(fn string) bool {
	fn = typeArgsCut(fn)
	for i := strings.Index(fn, ".func"); i >= 0; {
		if j := i + len(".func"); j < len(fn) && fn[j] >= '0' && fn[j] <= '9' {
			return true
		}
		k := strings.Index(fn[i+1:], ".func")
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return strings.Contains(fn, "-range") || strings.Contains(fn, ".gowrap") || strings.Contains(fn, ".deferwrap")
}

// relFile names the source file of a frame by import path
// (github.com/a/b/pkg/t.go), so no machine path leaks. The name comes from
// the frame's file path: as it is when built with -trimpath, from the
// module cache layout, or from the directories of packages seen in earlier
// frames (whose non-closure function names are reliable). Only when none of
// these knows the directory does it fall back to the function's package.
func relFile(fn, file string) string {
	base := path.Base(file)
	if name, ok := sources.name(file); ok {
		return name
	}
	pkg := funcPkg(fn)
	if isClosure(fn) && path.Base(pkg) != path.Base(path.Dir(file)) {
		// An inlined closure from an unknown directory: name the
		// directory rather than the wrong package.
		return path.Base(path.Dir(file)) + "/" + base
	}
	return pkg + "/" + base
}

// sources maps source directories to import paths.
var sources = newSourceRoots()

// sourceRoots maps directory prefixes to import-path prefixes, learned from
// frames: github.com/a/b/pkg in /src/b/pkg teaches that /src/b holds
// github.com/a/b. It starts out knowing this module and the standard
// library and holds at most maxSourceRoots entries.
type sourceRoots struct {
	mu    sync.Mutex
	roots map[string]string // directory -> import path prefix ("" for the standard library)
}

const maxSourceRoots = 64

func newSourceRoots() *sourceRoots {
	s := &sourceRoots{roots: make(map[string]string)}
	if _, file, _, ok := runtime.Caller(0); ok {
		s.learn("github.com/covetgo/covet/errs", path.Dir(file))
	}
	if f := runtime.FuncForPC(reflect.ValueOf(runtime.Callers).Pointer()); f != nil {
		file, _ := f.FileLine(f.Entry())
		s.learn("runtime", path.Dir(file))
	}
	return s
}

// learn records that dir holds the package pkg, as the prefix pair left
// after dropping the path elements both end in.
func (s *sourceRoots) learn(pkg, dir string) {
	if pkg == "" || pkg == "main" || !path.IsAbs(dir) || strings.Contains(dir, "/pkg/mod/") {
		return
	}
	for pkg != "" && path.Base(pkg) == path.Base(dir) && dir != "/" {
		pkg, dir = strings.TrimSuffix(path.Dir(pkg), "."), path.Dir(dir)
	}
	if dir == path.Dir(dir) {
		return // never map the file system's root
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roots[dir]; ok || len(s.roots) >= maxSourceRoots {
		return
	}
	s.roots[dir] = pkg
}

// name returns the import-path name of file, if its place says it.
func (s *sourceRoots) name(file string) (string, bool) {
	if !path.IsAbs(file) && !strings.Contains(file, ":") {
		return stripVersion(file), true // built with -trimpath
	}
	if i := strings.LastIndex(file, "/pkg/mod/"); i >= 0 {
		return unescapeModule(stripVersion(file[i+len("/pkg/mod/"):])), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	best, bestPkg := "", ""
	for dir, pkg := range s.roots {
		if len(dir) > len(best) && strings.HasPrefix(file, dir) && len(file) > len(dir) && file[len(dir)] == '/' {
			best, bestPkg = dir, pkg
		}
	}
	if best == "" {
		return "", false
	}
	rel := file[len(best)+1:]
	if bestPkg == "" {
		return rel, true
	}
	return bestPkg + "/" + rel, true
}

// stripVersion drops the @version of a module directory
// (github.com/a/b@v1.2.3/pkg/t.go becomes github.com/a/b/pkg/t.go).
func stripVersion(p string) string {
	at := strings.IndexByte(p, '@')
	if at < 0 {
		return p
	}
	end := strings.IndexByte(p[at:], '/')
	if end < 0 {
		return p[:at]
	}
	return p[:at] + p[at+end:]
}

// unescapeModule undoes the module cache's case encoding ("!a" for "A").
func unescapeModule(p string) string {
	if !strings.Contains(p, "!") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '!' && i+1 < len(p) && p[i+1] >= 'a' && p[i+1] <= 'z' {
			b.WriteByte(p[i+1] - 'a' + 'A')
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// Stack returns the frames recorded when the error was made (5xx errors and
// recovered panics record one), or nil.
func (e *Error) Stack() []Frame { return Frames(e.stack, 0) }
