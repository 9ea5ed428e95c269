// Package safefs is the one way the agent, running as root, touches a file or directory
// that the database owner (pgdba) can change (#11). A path is never resolved by name and
// then acted on by name: it is walked from / one component at a time with O_NOFOLLOW, a
// symbolic link is followed only where nobody but root (or the agent's own user) could
// have planted it, and every action happens on the descriptor the walk returned (openat,
// mkdirat, renameat, unlinkat relative to the verified directory; fstat, fchown, fchmod on
// the open file). Files are opened with O_NONBLOCK, so a FIFO cannot block an open, must
// be regular files, and every read is capped. An existing directory is never chowned or
// chmodded.
//
// The standard library's syscall package has every call this needs (openat, mkdirat,
// renameat, unlinkat, fstat, fchown, fchmod); readlinkat is issued as a raw syscall, so no
// dependency is added.
package safefs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// Limits of the reads the agent does.
const (
	// StateLimit caps the small state files the agent writes itself (the lock, the memo of
	// attributes, the election state, the receiver wake window) and postmaster.pid.
	StateLimit = 16 << 10
	// ConfigLimit caps a configuration file (postgresql.conf, postgresql.auto.conf).
	ConfigLimit = 8 << 20
)

var (
	// ErrLink: the file is a symbolic link; the agent does not follow links at the end
	// of a path.
	ErrLink = errors.New("is a symbolic link")
	// ErrUnsafeLink: a symbolic link on the way sits in a directory that someone other
	// than root may write, so whoever can write there chooses where the path leads.
	ErrUnsafeLink = errors.New("passes a symbolic link in a directory not only root can write")
	// ErrNotRegular: the path names a FIFO, device, socket or directory, not a file.
	ErrNotRegular = errors.New("is not a regular file")
	// ErrTooLarge: the file is larger than the caller's limit.
	ErrTooLarge = errors.New("is larger than expected")
	// ErrReplaced: a directory the agent had just created was replaced before it could be
	// given to its owner.
	ErrReplaced = errors.New("was replaced while being created")
)

// maxLinks bounds the symbolic links one walk follows (as the kernel's MAXSYMLINKS).
const maxLinks = 40

// oPath is Linux's O_PATH (the syscall package does not name it): a descriptor that only
// locates a file, usable as the directory of openat.
const oPath = 0x200000

const (
	dirFlags  = oPath | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	fileFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC | syscall.O_NOCTTY
)

// Owner is who a new file or directory is given to (only when the agent runs as root).
type Owner struct{ UID, GID uint32 }

// Dir is a directory reached by a safe walk; its operations act relative to it.
type Dir struct {
	fd   int
	path string
}

// OpenDir walks to the directory path without following a link that is not root's.
func OpenDir(path string) (*Dir, error) { return walk(path, nil) }

// MkdirAll walks to path, creating the missing directories: each new one is given to owner
// with mode perm (the last; setgid and sticky bits included) or 0755 (those above it).
// Directories that exist are left exactly as they are.
func MkdirAll(path string, perm uint32, owner *Owner) error {
	d, err := walk(path, &mkdirSpec{perm: perm, owner: owner})
	if err != nil {
		return err
	}
	return d.Close()
}

// Close releases the directory.
func (d *Dir) Close() error { return syscall.Close(d.fd) }

// Stat describes the directory itself.
func (d *Dir) Stat() (syscall.Stat_t, error) {
	var st syscall.Stat_t
	err := syscall.Fstat(d.fd, &st)
	return st, d.err("fstat", "", err)
}

// err wraps a syscall error with the path it concerns.
func (d *Dir) err(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: filepath.Join(d.path, name), Err: err}
}

type mkdirSpec struct {
	perm  uint32
	owner *Owner
}

func walk(path string, mk *mkdirSpec) (*Dir, error) {
	fail := func(err error) (*Dir, error) { return nil, &os.PathError{Op: "open", Path: path, Err: err} }
	if !filepath.IsAbs(path) {
		return fail(errors.New("not an absolute path"))
	}
	fd, err := syscall.Open("/", dirFlags, 0)
	if err != nil {
		return fail(err)
	}
	todo := components(filepath.Clean(path))
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		next, err := openat(fd, name, dirFlags, 0)
		if errors.Is(err, syscall.ENOENT) && mk != nil {
			next, err = mk.create(fd, name, len(todo) == 0)
		}
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
			target, lerr := trustedLink(fd, name)
			if lerr != nil {
				syscall.Close(fd)
				return fail(lerr)
			}
			if links++; links > maxLinks {
				syscall.Close(fd)
				return fail(syscall.ELOOP)
			}
			if filepath.IsAbs(target) {
				syscall.Close(fd)
				if fd, err = syscall.Open("/", dirFlags, 0); err != nil {
					return fail(err)
				}
			}
			todo = append(components(target), todo...)
			continue
		}
		syscall.Close(fd)
		if err != nil {
			return fail(err)
		}
		fd = next
	}
	return &Dir{fd: fd, path: path}, nil
}

// components splits a path into the names to walk ("" and "." dropped; ".." kept, the
// kernel resolves it relative to the directory already reached).
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// trustedLink returns the target of the link name in dirfd when the directory is one only
// root (or the agent's own user) can write; ENOTDIR when name is no link at all.
func trustedLink(dirfd int, name string) (string, error) {
	st, err := lstatAt(dirfd, name)
	if err != nil {
		return "", err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		return "", syscall.ENOTDIR
	}
	var dir syscall.Stat_t
	if err := syscall.Fstat(dirfd, &dir); err != nil {
		return "", err
	}
	if !trustedDir(dir) {
		return "", ErrUnsafeLink
	}
	return readlinkat(dirfd, name)
}

// trustedDir: owned by root or the agent's user, writable by nobody else.
func trustedDir(st syscall.Stat_t) bool {
	return (st.Uid == 0 || st.Uid == uint32(ProcessEUID())) && st.Mode&0o022 == 0
}

func (m *mkdirSpec) create(dirfd int, name string, last bool) (int, error) {
	mode := uint32(0o755)
	if last {
		mode = m.perm
	}
	if err := syscall.Mkdirat(dirfd, name, 0o700); err != nil {
		if errors.Is(err, syscall.EEXIST) { // created meanwhile by someone else: not ours to change
			return openat(dirfd, name, dirFlags, 0)
		}
		return -1, err
	}
	fd, err := openat(dirfd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Uid != uint32(ProcessEUID()) {
		syscall.Close(fd)
		return -1, ErrReplaced
	}
	if m.owner != nil && ProcessEUID() == 0 {
		if err := syscall.Fchown(fd, int(m.owner.UID), int(m.owner.GID)); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	// After the chown, which may clear set-id bits; raw mode bits keep setgid (os.Chmod
	// drops the 02000 of a plain 0o2775).
	if err := syscall.Fchmod(fd, mode); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, flags, mode)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func lstatAt(dirfd int, name string) (syscall.Stat_t, error) {
	var st syscall.Stat_t
	fd, err := openat(dirfd, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return st, err
	}
	defer syscall.Close(fd)
	err = syscall.Fstat(fd, &st)
	return st, err
}

func readlinkat(dirfd int, name string) (string, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return "", err
	}
	buf := make([]byte, syscall.PathMax)
	n, _, errno := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return "", errno
	}
	return string(buf[:n]), nil
}

// checkName refuses anything but a single file name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return syscall.EINVAL
	}
	return nil
}

// File is an open regular file whose reads stop at a limit.
type File struct {
	f    *os.File
	left int64
	size int64
}

// Read reads on; past the limit it fails with ErrTooLarge.
func (f *File) Read(p []byte) (int, error) {
	if f.left <= 0 {
		if n, _ := f.f.Read(make([]byte, 1)); n > 0 {
			return 0, &os.PathError{Op: "read", Path: f.f.Name(), Err: ErrTooLarge}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.f.Read(p)
	f.left -= int64(n)
	return n, err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Size is the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// Stat describes the open file (owner and mode for a rewrite).
func (f *File) Stat() (syscall.Stat_t, error) {
	var st syscall.Stat_t
	err := syscall.Fstat(int(f.f.Fd()), &st)
	return st, err
}

// Open opens name for reading: a regular file, no link, at most limit bytes.
func (d *Dir) Open(name string, limit int64) (*File, error) {
	if err := checkName(name); err != nil {
		return nil, d.err("open", name, err)
	}
	fd, err := openat(d.fd, name, syscall.O_RDONLY|fileFlags, 0)
	if errors.Is(err, syscall.ELOOP) {
		err = ErrLink
	}
	if err != nil {
		return nil, d.err("open", name, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		if err == nil {
			err = ErrNotRegular
		}
		return nil, d.err("open", name, err)
	}
	if st.Size > limit {
		syscall.Close(fd)
		return nil, d.err("open", name, ErrTooLarge)
	}
	return &File{f: os.NewFile(uintptr(fd), filepath.Join(d.path, name)), left: limit, size: st.Size}, nil
}

// ReadFile reads all of name, a regular file of at most limit bytes.
func (d *Dir) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := d.Open(name, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Lstat describes name itself (a link is not followed).
func (d *Dir) Lstat(name string) (syscall.Stat_t, error) {
	if err := checkName(name); err != nil {
		return syscall.Stat_t{}, d.err("lstat", name, err)
	}
	st, err := lstatAt(d.fd, name)
	return st, d.err("lstat", name, err)
}

// Readlink returns the target of the symbolic link name without following it.
func (d *Dir) Readlink(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", d.err("readlink", name, err)
	}
	target, err := readlinkat(d.fd, name)
	return target, d.err("readlink", name, err)
}

// Remove deletes name (a link itself, never what it points to); a missing name is no error.
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return d.err("remove", name, err)
	}
	if err := syscall.Unlinkat(d.fd, name); err != nil && !errors.Is(err, syscall.ENOENT) {
		return d.err("remove", name, err)
	}
	return nil
}

// CreateFile creates name as an empty regular file given to owner with mode perm, unless
// something of that name exists (which is left alone). created reports which.
func (d *Dir) CreateFile(name string, perm uint32, owner *Owner) (created bool, err error) {
	if err := checkName(name); err != nil {
		return false, d.err("create", name, err)
	}
	fd, err := openat(d.fd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|fileFlags, 0o600)
	if errors.Is(err, syscall.EEXIST) {
		return false, nil
	}
	if err != nil {
		return false, d.err("create", name, err)
	}
	defer syscall.Close(fd)
	return true, d.err("create", name, giveTo(fd, perm, owner))
}

// giveTo sets owner (as root only) and then mode on an open file the agent created.
func giveTo(fd int, perm uint32, owner *Owner) error {
	if owner != nil && ProcessEUID() == 0 {
		if err := syscall.Fchown(fd, int(owner.UID), int(owner.GID)); err != nil {
			return err
		}
	}
	return syscall.Fchmod(fd, perm)
}

// WriteFileAtomic replaces name with content unless it already holds exactly that: a new
// temporary file in the directory (O_EXCL), fsync, renameat over name, fsync of the
// directory. The file is given to owner (as root) with mode perm. Something other than a
// regular file under name (a link, a FIFO) is an error, not replaced. changed reports
// whether anything was written.
func (d *Dir) WriteFileAtomic(name string, content []byte, perm uint32, owner *Owner) (changed bool, err error) {
	if err := checkName(name); err != nil {
		return false, d.err("write", name, err)
	}
	old, err := d.ReadFile(name, int64(len(content)))
	switch {
	case err == nil && bytes.Equal(old, content):
		return false, nil
	case err == nil, errors.Is(err, ErrTooLarge), errors.Is(err, syscall.ENOENT):
	default:
		return false, err
	}
	var random [8]byte
	_, _ = rand.Read(random[:])
	tmp := "." + name + ".tmp-" + hex.EncodeToString(random[:])
	fd, err := openat(d.fd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|fileFlags, 0o600)
	if err != nil {
		return false, d.err("write", name, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	renamed := false
	defer func() {
		if !renamed {
			_ = syscall.Unlinkat(d.fd, tmp)
		}
	}()
	_, err = f.Write(content)
	if err == nil {
		err = giveTo(fd, perm, owner)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Renameat(d.fd, tmp, d.fd, name)
	}
	if err != nil {
		return false, d.err("write", name, err)
	}
	renamed = true
	if dfd, err := openat(d.fd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0); err == nil {
		_ = syscall.Fsync(dfd)
		syscall.Close(dfd)
	}
	return true, nil
}

// inParent opens the directory of path and runs op on it with the file's name.
func inParent(path string, op func(d *Dir, name string) error) error {
	d, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return op(d, filepath.Base(path))
}

// ReadFile reads the regular file path, at most limit bytes.
func ReadFile(path string, limit int64) (b []byte, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		b, err = d.ReadFile(name, limit)
		return err
	})
	return b, err
}

// Open opens the regular file path for reading at most limit bytes.
func Open(path string, limit int64) (f *File, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		f, err = d.Open(name, limit)
		return err
	})
	return f, err
}

// ReadTail returns at most the last n bytes of the regular file path.
func ReadTail(path string, n int64) (b []byte, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		f, err := d.Open(name, 1<<62)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.size > n {
			if _, err := f.f.Seek(-n, io.SeekEnd); err != nil {
				return err
			}
		}
		b, err = io.ReadAll(io.LimitReader(f.f, n))
		return err
	})
	return b, err
}

// WriteFileAtomic is Dir.WriteFileAtomic on the directory of path.
func WriteFileAtomic(path string, content []byte, perm uint32, owner *Owner) (changed bool, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		changed, err = d.WriteFileAtomic(name, content, perm, owner)
		return err
	})
	return changed, err
}

// CreateFile is Dir.CreateFile on the directory of path.
func CreateFile(path string, perm uint32, owner *Owner) (created bool, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		created, err = d.CreateFile(name, perm, owner)
		return err
	})
	return created, err
}

// Remove deletes path itself; a missing file, or a missing directory above it, is no error:
// there is nothing to remove.
func Remove(path string) error {
	err := inParent(path, func(d *Dir, name string) error { return d.Remove(name) })
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Lstat describes path itself, reached by a safe walk.
func Lstat(path string) (st syscall.Stat_t, err error) {
	err = inParent(path, func(d *Dir, name string) error {
		st, err = d.Lstat(name)
		return err
	})
	return st, err
}

// Exists reports whether something (of any type) is at path, reached by a safe walk.
func Exists(path string) bool {
	_, err := Lstat(path)
	return err == nil
}
