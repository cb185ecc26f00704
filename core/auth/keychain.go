package auth

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/zalando/go-keyring"
)

var keyringErrNotFound = keyring.ErrNotFound

// goKeyring is the go-keyring package as a Keychain (the OS store, or its
// in-memory implementation after keyring.MockInit).
type goKeyring struct{}

func (goKeyring) Get(service, account string) (string, error) { return keyring.Get(service, account) }
func (goKeyring) Set(service, account, secret string) error {
	return keyring.Set(service, account, secret)
}
func (goKeyring) Delete(service, account string) error { return keyring.Delete(service, account) }

// OSKeychain returns the OS keychain (macOS Keychain, Windows Credential
// Manager, Secret Service over D-Bus). On Linux it reports itself unavailable
// without a session bus instead of letting D-Bus autolaunch a bus daemon.
func OSKeychain() Keychain { return osKeychainWith(os.Getenv, fileExists) }

func osKeychainWith(getenv func(string) string, exists func(string) bool) Keychain {
	return osKeychain{getenv: getenv, exists: exists}
}

type osKeychain struct {
	getenv func(string) string
	exists func(string) bool
}

func (k osKeychain) precheck() error {
	if runtime.GOOS != "linux" {
		return nil
	}
	return dbusPrecheck(k.getenv, k.exists)
}

func (k osKeychain) Get(service, account string) (string, error) {
	if err := k.precheck(); err != nil {
		return "", err
	}
	return keyring.Get(service, account)
}

func (k osKeychain) Set(service, account, secret string) error {
	if err := k.precheck(); err != nil {
		return err
	}
	return keyring.Set(service, account, secret)
}

func (k osKeychain) Delete(service, account string) error {
	if err := k.precheck(); err != nil {
		return err
	}
	return keyring.Delete(service, account)
}

// dbusPrecheck refuses when there is no D-Bus session bus: godbus would
// otherwise try to autolaunch one (dbus-launch), spawning a daemon.
func dbusPrecheck(getenv func(string) string, exists func(string) bool) error {
	if addr := getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return nil
	}
	if exists(fmt.Sprintf("/run/user/%d/bus", os.Getuid())) {
		return nil
	}
	return errors.New("no D-Bus session bus, so no Secret Service")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
