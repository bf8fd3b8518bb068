package sanitize

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// MaxPathBytes caps a user-supplied relative path.
const MaxPathBytes = 1024

// ErrUnsafePath is returned for a user-supplied path that is not a plain
// relative path inside the root.
var ErrUnsafePath = errs.New(errs.KindSecurity, "unsafe_path", "The file name is not allowed.")

// LocalPath checks a user-supplied, slash-separated relative path and returns
// it cleaned. It refuses the empty path, absolute paths, drive letters and
// volume names, ".." anywhere, backslashes (a separator on Windows, a
// filename byte elsewhere), NUL and other control characters, invalid UTF-8,
// Windows reserved names (CON, NUL, COM1...) and paths over MaxPathBytes. It
// does not touch the file system: symlinks are Root's concern.
func LocalPath(name string) (string, error) {
	if name == "" || len(name) > MaxPathBytes || !utf8.ValidString(name) {
		return "", ErrUnsafePath
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; isControl(c) || c == '\\' || c == ':' {
			return "", ErrUnsafePath
		}
	}
	if name[0] == '/' {
		return "", ErrUnsafePath
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return "", ErrUnsafePath
		}
	}
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(name)))
	// filepath.IsLocal also refuses reserved names on Windows; check them
	// on every platform so behaviour does not depend on where it runs.
	if !filepath.IsLocal(filepath.FromSlash(clean)) || clean == "." || hasReservedName(clean) {
		return "", ErrUnsafePath
	}
	return clean, nil
}

var reserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true, "conin$": true, "conout$": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
	// Windows counts the superscript digits as digits here too.
	"com¹": true, "com²": true, "com³": true, "lpt¹": true, "lpt²": true, "lpt³": true,
}

func hasReservedName(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		base, _, _ := strings.Cut(seg, ".")
		if reserved[strings.ToLower(strings.TrimRight(base, " "))] {
			return true
		}
	}
	return false
}

// Root opens user-named files only inside one directory. It is built on
// os.Root, so a symlink (or a ".." hidden in one) that leads outside the
// directory fails, whatever the path looks like. Names are checked with
// LocalPath, and names with a segment starting with "." (".env",
// ".git/config") are refused unless RootOptions.AllowDotfiles is set.
type Root struct {
	root     *os.Root
	dotfiles bool
}

// RootOptions configures a Root. The zero value is the safe default.
type RootOptions struct {
	// AllowDotfiles lets names with a segment starting with "." through
	// (".well-known/security.txt", but also ".env" and ".git/config").
	// Off by default: in a served directory such files are configuration
	// and repository metadata far more often than content.
	AllowDotfiles bool
}

// OpenRoot opens dir as a Root with the default options: dotfiles are
// refused.
func OpenRoot(dir string) (*Root, error) { return NewRoot(dir, RootOptions{}) }

// NewRoot opens dir as a Root with options o.
func NewRoot(dir string, o RootOptions) (*Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errs.Configf("sanitize: open root %q: %v", dir, err)
	}
	return &Root{root: r, dotfiles: o.AllowDotfiles}, nil
}

// check applies LocalPath and the dotfile rule to a user-supplied name.
func (r *Root) check(name string) (string, error) {
	clean, err := LocalPath(name)
	if err != nil {
		return "", err
	}
	if !r.dotfiles && hasDotSegment(clean) {
		return "", ErrUnsafePath
	}
	return clean, nil
}

// hasDotSegment reports whether a slash-separated path has a segment
// starting with ".".
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// Open opens the user-named file for reading. An unsafe name gives
// ErrUnsafePath (400), a missing file a not-found error (404), an escape
// through a symlink ErrUnsafePath.
func (r *Root) Open(name string) (*os.File, error) {
	clean, err := r.check(name)
	if err != nil {
		return nil, err
	}
	f, err := r.root.Open(clean)
	if err != nil {
		return nil, fsError(err)
	}
	return f, nil
}

// Stat describes the user-named file, with Open's checks and errors.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	clean, err := r.check(name)
	if err != nil {
		return nil, err
	}
	fi, err := r.root.Stat(clean)
	if err != nil {
		return nil, fsError(err)
	}
	return fi, nil
}

// FS returns the root as an fs.FS (for http.FileServerFS). Its Open and
// Stat refuse what Root.Open refuses, except that "." names the root
// directory itself; a refused name is an *fs.PathError that matches both
// fs.ErrNotExist (so http.FileServerFS answers 404, telling nothing) and
// ErrUnsafePath. Directory listings leave out the names Open would
// refuse.
func (r *Root) FS() fs.FS { return rootFS{r} }

// Name returns the directory the root was opened with.
func (r *Root) Name() string { return r.root.Name() }

// Close releases the root's directory handle.
func (r *Root) Close() error { return r.root.Close() }

// rootFS is Root as an fs.FS and fs.StatFS. It implements nothing else
// (ReadFile, ReadDir, Sub, Glob), so the io/fs helpers fall back to its
// Open and their names are checked too.
type rootFS struct{ r *Root }

// refusedName is the error of rootFS for a name Root refuses.
type refusedName struct{}

func (refusedName) Error() string { return "file name not allowed" }

func (refusedName) Is(target error) bool {
	return target == fs.ErrNotExist || target == ErrUnsafePath
}

func (f rootFS) name(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return name, nil
	}
	clean, err := f.r.check(name)
	if err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: refusedName{}}
	}
	return clean, nil
}

func (f rootFS) Open(name string) (fs.File, error) {
	clean, err := f.name("open", name)
	if err != nil {
		return nil, err
	}
	file, err := f.r.root.Open(clean)
	if err != nil {
		return nil, err
	}
	return &rootFile{f: file, r: f.r}, nil
}

func (f rootFS) Stat(name string) (fs.FileInfo, error) {
	clean, err := f.name("stat", name)
	if err != nil {
		return nil, err
	}
	return f.r.root.Stat(clean)
}

// rootFile is a file of rootFS: it reads and seeks like the *os.File it
// holds, and lists a directory without the names Root refuses.
type rootFile struct {
	f *os.File
	r *Root
}

func (f *rootFile) Read(b []byte) (int, error)                { return f.f.Read(b) }
func (f *rootFile) ReadAt(b []byte, off int64) (int, error)   { return f.f.ReadAt(b, off) }
func (f *rootFile) Seek(off int64, whence int) (int64, error) { return f.f.Seek(off, whence) }
func (f *rootFile) Stat() (fs.FileInfo, error)                { return f.f.Stat() }
func (f *rootFile) Close() error                              { return f.f.Close() }

// ReadDir lists the directory as fs.ReadDirFile does, leaving out the
// entries whose names Root would refuse.
func (f *rootFile) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		entries, err := f.f.ReadDir(n)
		kept := entries[:0]
		for _, e := range entries {
			if _, bad := f.r.check(e.Name()); bad == nil {
				kept = append(kept, e)
			}
		}
		// With n > 0 an empty result must come with an error: read on
		// while every entry of a batch was left out.
		if len(kept) > 0 || err != nil || n <= 0 {
			return kept, err
		}
	}
}

func fsError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errs.Wrap(err, errs.KindNotFound, "file_not_found", "The file does not exist.")
	case errors.Is(err, fs.ErrPermission):
		return errs.Wrap(err, errs.KindAuthorization, "file_forbidden", "The file may not be read.")
	}
	// os.Root reports an escape ("path escapes from parent") with an
	// unexported error; anything else on a checked name is refused too.
	return ErrUnsafePath.WithCause(err)
}
