package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// watcherName is the D-Bus name of the StatusNotifierWatcher a tray host owns.
const watcherName = "org.kde.StatusNotifierWatcher"

// hostCheckTimeout bounds the whole check, so a broken bus can never make
// the tray hang (fyne.io/systray would block forever without a bus).
const hostCheckTimeout = 1500 * time.Millisecond

// busEnv is the variable that names the session bus.
const busEnv = "DBUS_SESSION_BUS_ADDRESS"

// checkHost makes sure a tray host can show the icon: a reachable D-Bus
// session bus on which something owns org.kde.StatusNotifierWatcher. It
// returns a connection the caller keeps to notice when the bus goes away.
// It never autolaunches a bus.
func checkHost(ctx context.Context, getenv func(string) string) (*hostWatch, error) {
	addr := getenv(busEnv)
	if addr == "" || addr == "autolaunch:" {
		// The one place sessions without the variable keep their bus
		// (systemd user sessions); godbus and so fyne.io/systray look there
		// too.
		p := fmt.Sprintf("/run/user/%d/bus", os.Getuid())
		if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
			return nil, errors.New("no D-Bus session bus: " + busEnv + " is not set; the tray icon needs a desktop session")
		}
		addr = "unix:path=" + dbus.EscapeBusAddressValue(p)
		os.Setenv(busEnv, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, hostCheckTimeout)
	defer cancel()

	type result struct {
		conn *dbus.Conn
		err  error
	}
	got := make(chan result, 1)
	go func() {
		conn, err := dbus.Connect(addr)
		got <- result{conn, err}
	}()
	var conn *dbus.Conn
	select {
	case r := <-got:
		if r.err != nil {
			return nil, fmt.Errorf("cannot reach the D-Bus session bus at %s: %v", addr, r.err)
		}
		conn = r.conn
	case <-ctx.Done():
		go func() {
			if r := <-got; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("the D-Bus session bus at %s did not answer within %s", addr, hostCheckTimeout)
	}

	var owned bool
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&owned)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ask the D-Bus session bus for a tray host: %v", err)
	}
	if !owned {
		conn.Close()
		return nil, errors.New("no system tray host: nothing owns " + watcherName +
			" on the D-Bus session bus (use a panel with StatusNotifierItem support, e.g. KDE Plasma, XFCE, or GNOME with the AppIndicator extension)")
	}
	return &hostWatch{conn: conn}, nil
}

// hostWatch keeps the check's connection open to notice a dead bus.
type hostWatch struct {
	conn *dbus.Conn
}

// Lost is closed when the session bus connection ends.
func (h *hostWatch) Lost() <-chan struct{} { return h.conn.Context().Done() }

// Close ends the watch.
func (h *hostWatch) Close() { h.conn.Close() }
