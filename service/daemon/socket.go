package daemon

import (
	"net"
	"os"
	"path/filepath"
)

// listenUnix listens on a Unix socket readable only by the user: the parent
// directory is 0700 and the socket 0600. Windows has AF_UNIX too, and the
// per-user home directory's ACL restricts it to the user.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
