package mission

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// A repository is untrusted input (CONTRACTS §10): a cloned repo can hold
// symlinks out of kitty-specs/, FIFOs, device files and huge files. Every
// read and write of a mission file goes through this file: the path is
// resolved and must stay inside the repo's real kitty-specs/, the file must
// be a regular file (checked before the open, which never follows a final
// symlink and never blocks, and again on the open descriptor), and what is
// read is bounded.

// MaxMetaBytes bounds meta.json; a bigger file is refused.
const MaxMetaBytes = 1 << 20

// MaxLineBytes bounds one events line; a longer line is malformed and
// skipped without being held in memory.
const MaxLineBytes = 1 << 20

// UnsafePathError is a mission path the readers refuse: it resolves outside
// the repo's kitty-specs/, or is not a regular file.
type UnsafePathError struct {
	Path   string
	Reason string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("%s: refused: %s", e.Path, e.Reason)
}

// within reports whether p is dir or below it (both cleaned, absolute).
func within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// realSpecs returns the resolved kitty-specs/ of repo, which must itself
// resolve inside the resolved repo.
func realSpecs(repo string) (string, error) {
	root, err := filepath.EvalSymlinks(repo)
	if err != nil {
		return "", err
	}
	specs := filepath.Join(repo, paths.SpecsDir)
	real, err := filepath.EvalSymlinks(specs)
	if err != nil {
		return "", err
	}
	if !within(root, real) || real == root {
		return "", &UnsafePathError{Path: specs, Reason: "resolves outside the repository"}
	}
	return real, nil
}

// confiner resolves paths below one repo's kitty-specs/, which it resolves
// once (a whole ReadAll shares one).
type confiner struct {
	repo  string
	specs string // the real kitty-specs/
	err   error  // why kitty-specs/ cannot be used
}

func confine(repo string) *confiner {
	specs, err := realSpecs(repo)
	return &confiner{repo: repo, specs: specs, err: err}
}

// resolve returns the real path of p, which must be below repo's
// kitty-specs/ and resolve inside it. A path that does not exist yet
// resolves through its parent (for a create); a dangling symlink is refused.
func resolve(repo, p string) (string, error) { return confine(repo).resolve(p) }

func (c *confiner) resolve(p string) (string, error) {
	real, _, err := c.resolveInfo(p)
	return real, err
}

// resolveInfo is resolve, plus the Lstat of the real path when the fast path
// made it (nil otherwise).
func (c *confiner) resolveInfo(p string) (string, fs.FileInfo, error) {
	if c.err != nil {
		return "", nil, c.err
	}
	rel, err := filepath.Rel(filepath.Join(c.repo, paths.SpecsDir), p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", nil, &UnsafePathError{Path: p, Reason: "not inside " + paths.SpecsDir + "/"}
	}
	cand := filepath.Join(c.specs, rel)
	// The common case: no component below kitty-specs/ is a symlink, so the
	// path is its own real path; a few Lstat calls prove it.
	cur := c.specs
	var fi fs.FileInfo
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err = os.Lstat(cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && cur == cand {
				return cand, nil, nil // to be created in a directory proven real
			}
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			real, err := c.resolveLinks(p, cand)
			return real, nil, err
		}
	}
	return cand, fi, nil
}

// resolveLinks resolves a path with a symlink in it and checks where it
// leads.
func (c *confiner) resolveLinks(p, cand string) (string, error) {
	real, err := filepath.EvalSymlinks(cand)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(cand); lerr == nil {
			return "", &UnsafePathError{Path: p, Reason: "dangling symbolic link"}
		}
		parent, perr := filepath.EvalSymlinks(filepath.Dir(cand))
		if perr != nil {
			return "", err
		}
		real = filepath.Join(parent, filepath.Base(cand))
	} else if err != nil {
		return "", err
	}
	if !within(c.specs, real) || real == c.specs {
		return "", &UnsafePathError{Path: p, Reason: "resolves outside " + paths.SpecsDir + "/"}
	}
	return real, nil
}

// openRegular opens real (already resolved) for reading if it is a regular
// file, without following a final symlink and without blocking on a FIFO,
// and checks the open descriptor is the file that was checked.
func openRegular(shown, real string, li fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if li == nil {
		var err error
		if li, err = os.Lstat(real); err != nil {
			return nil, nil, err
		}
	}
	if !li.Mode().IsRegular() {
		return nil, li, &UnsafePathError{Path: shown, Reason: "not a regular file (" + kind(li.Mode()) + ")"}
	}
	f, err := os.OpenFile(real, os.O_RDONLY|openNoFollow|openNonBlock, 0)
	if err != nil {
		return nil, li, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, li, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(li, fi) {
		f.Close()
		return nil, li, &UnsafePathError{Path: shown, Reason: "changed while being opened"}
	}
	return f, fi, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "irregular"
}

// OpenFile opens the mission file at path (below repo's kitty-specs/) for
// reading, refusing paths that resolve outside kitty-specs/ and files that
// are not regular (an *UnsafePathError). A missing file is fs.ErrNotExist.
func OpenFile(repo, path string) (*os.File, fs.FileInfo, error) {
	return confine(repo).open(path)
}

// Opener is OpenFile for the files of one repo, with its kitty-specs/
// resolved once (as a ReadAll does): an import of many files resolves it
// once, not per file.
func Opener(repo string) func(path string) (*os.File, fs.FileInfo, error) {
	return confine(repo).open
}

func (c *confiner) open(path string) (*os.File, fs.FileInfo, error) {
	real, li, err := c.resolveInfo(path)
	if err != nil {
		return nil, nil, err
	}
	return openRegular(path, real, li)
}

// readBounded reads the whole mission file at path into *buf (reused and
// grown as needed; nil allocates), refusing one larger than limit.
func (c *confiner) readBounded(path string, limit int64, buf *[]byte) ([]byte, fs.FileInfo, error) {
	f, fi, err := c.open(path)
	if err != nil {
		return nil, fi, err
	}
	defer f.Close()
	tooBig := &UnsafePathError{Path: path, Reason: fmt.Sprintf("larger than %d bytes", limit)}
	if fi.Size() > limit {
		return nil, fi, tooBig
	}
	var local []byte
	if buf == nil {
		buf = &local
	}
	if want := int(fi.Size()) + 512; cap(*buf) < want {
		*buf = make([]byte, 0, max(want, 2*cap(*buf)))
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // the file grew since the open
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, fi, tooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fi, fmt.Errorf("read %s: %w", path, err)
		}
	}
	*buf = b
	return b, fi, nil
}

// isFile reports whether path is a regular file inside kitty-specs/.
func (c *confiner) isFile(path string) bool {
	real, err := c.resolve(path)
	if err != nil {
		return false
	}
	fi, err := os.Lstat(real)
	return err == nil && fi.Mode().IsRegular()
}

// missionDir resolves kitty-specs/<name>, which must be a directory inside
// kitty-specs/.
func (c *confiner) missionDir(name string) (string, error) {
	p := paths.MissionDir(c.repo, name)
	real, err := c.resolve(p)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", &UnsafePathError{Path: p, Reason: "not a directory"}
	}
	return real, nil
}
