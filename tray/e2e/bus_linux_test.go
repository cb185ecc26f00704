package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/spec-kitty/spec-kitty-sync/tray/internal/snwatcher"
)

// need finds a tool the tests cannot do without: missing, the test fails on
// CI (CI=true) and is skipped elsewhere.
func need(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required (apt-get install -y dbus strace): %v", tool, err)
		}
		t.Skipf("%s not installed", tool)
	}
	return p
}

const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBus runs a private session bus with no service activation (so no
// keyring or other daemon can be started on it) and returns its address.
// It is stopped when the test ends.
func startBus(t testing.TB) string {
	addr, _ := startKillableBus(t)
	return addr
}

// startKillableBus is startBus that also returns a function to kill the bus.
func startKillableBus(t testing.TB) (string, func()) {
	t.Helper()
	bin := need(t, "dbus-daemon")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+cfg, "--nofork", "--nopidfile", "--print-address=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(line), func() { cmd.Process.Kill() }
}

// dial opens a private connection to the bus at addr.
func dial(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// startWatcher runs a StatusNotifierWatcher on its own connection.
func startWatcher(t testing.TB, addr string) *snwatcher.Watcher {
	t.Helper()
	w, err := snwatcher.Start(dial(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// pixmap is an SNI IconPixmap entry (ARGB32, network byte order).
type pixmap struct {
	W, H int32
	Pix  []byte
}

// argb converts a PNG the way a StatusNotifierItem host receives it.
func argb(t testing.TB, b []byte) pixmap {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	px := pixmap{W: int32(r.Dx()), H: int32(r.Dy())}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			px.Pix = append(px.Pix, byte(ca), byte(cr), byte(cg), byte(cb))
		}
	}
	return px
}

// poll calls f until it returns "" or the deadline passes, then fails with
// f's last complaint.
func poll(t testing.TB, within time.Duration, f func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		why := f()
		if why == "" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s: %s", within, why)
		case <-tick.C:
		}
	}
}
