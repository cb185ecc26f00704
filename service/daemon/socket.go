package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// MaxSocketPath is the longest socket path every platform accepts (macOS
// allows 103 bytes plus the terminator; Linux 107).
const MaxSocketPath = 103

// listenUnix listens on a Unix socket readable only by the user: the parent
// directory is 0700 and the socket 0600. Windows has AF_UNIX too, and the
// per-user home directory's ACL restricts it to the user.
func listenUnix(path string) (net.Listener, error) {
	if len(path) > MaxSocketPath {
		return nil, fmt.Errorf("socket path is %d bytes, over the %d that Unix sockets allow: set %s to a shorter directory",
			len(path), MaxSocketPath, paths.HomeEnv)
	}
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
