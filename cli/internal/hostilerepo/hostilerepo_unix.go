//go:build unix

package hostilerepo

import "syscall"

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }

// mkzero makes a character device like /dev/zero (1, 5 on Linux); it needs
// root, and fails otherwise.
func mkzero(p string) error {
	return syscall.Mknod(p, syscall.S_IFCHR|0o644, int(mkdev(1, 5)))
}

func mkdev(major, minor uint64) uint64 {
	return (major&0xfff)<<8 | (minor & 0xff) | (major&^0xfff)<<32 | (minor&^0xff)<<12
}
