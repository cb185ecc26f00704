// Package snwatcher is a minimal org.kde.StatusNotifierWatcher for tests:
// it owns the watcher name on a D-Bus connection, records every
// RegisterStatusNotifierItem call and claims a host is registered, which is
// all a StatusNotifierItem (fyne.io/systray) needs to show itself. It draws
// nothing. Tests of the tray use it on a private session bus.
package snwatcher

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

const (
	// Name is the watcher's well-known bus name.
	Name  = "org.kde.StatusNotifierWatcher"
	iface = "org.kde.StatusNotifierWatcher"
	path  = dbus.ObjectPath("/StatusNotifierWatcher")
)

// Item is one registered StatusNotifierItem.
type Item struct {
	// Service is the unique bus name of the process that registered.
	Service string
	// Path is the item's object path.
	Path dbus.ObjectPath
}

// Watcher records registrations.
type Watcher struct {
	conn  *dbus.Conn
	props *prop.Properties

	mu     sync.Mutex
	items  []Item
	notify chan struct{}
}

// Start exports the watcher on conn and takes its name. conn should be a
// connection of its own (the test's), not the process's shared session bus.
func Start(conn *dbus.Conn) (*Watcher, error) {
	w := &Watcher{conn: conn, notify: make(chan struct{})}
	if err := conn.ExportMethodTable(map[string]any{
		"RegisterStatusNotifierItem": w.registerItem,
		"RegisterStatusNotifierHost": func(dbus.Sender, string) *dbus.Error { return nil },
	}, path, iface); err != nil {
		return nil, fmt.Errorf("export watcher: %w", err)
	}
	props, err := prop.Export(conn, path, prop.Map{iface: {
		// EmitFalse: SetMust panics when a change signal cannot be sent,
		// as happens when a test kills the bus mid-registration.
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitFalse},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		return nil, fmt.Errorf("export watcher properties: %w", err)
	}
	w.props = props
	reply, err := conn.RequestName(Name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", Name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, fmt.Errorf("request %s: already owned", Name)
	}
	return w, nil
}

// registerItem follows the KDE watcher: the argument is a bus name or an
// object path of the sender.
func (w *Watcher) registerItem(sender dbus.Sender, service string) *dbus.Error {
	it := Item{Service: string(sender), Path: "/StatusNotifierItem"}
	if strings.HasPrefix(service, "/") {
		it.Path = dbus.ObjectPath(service)
	} else if service != "" {
		it.Service = service
	}
	w.mu.Lock()
	w.items = append(w.items, it)
	var names []string
	for _, i := range w.items {
		names = append(names, i.Service+string(i.Path))
	}
	close(w.notify)
	w.notify = make(chan struct{})
	w.mu.Unlock()
	w.props.SetMust(iface, "RegisteredStatusNotifierItems", names)
	w.conn.Emit(path, iface+".StatusNotifierItemRegistered", it.Service+string(it.Path))
	return nil
}

// Items returns the registrations so far.
func (w *Watcher) Items() []Item {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Item(nil), w.items...)
}

// Wait returns the first registration, waiting for one until ctx ends.
func (w *Watcher) Wait(ctx context.Context) (Item, error) {
	for {
		w.mu.Lock()
		if len(w.items) > 0 {
			it := w.items[0]
			w.mu.Unlock()
			return it, nil
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Item{}, fmt.Errorf("no StatusNotifierItem registered: %w", ctx.Err())
		}
	}
}
