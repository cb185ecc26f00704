package session

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/zalando/go-keyring"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
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

// KeychainFor is the keychain a process should use: the OS keychain, or —
// when SPEC_KITTY_KEYCHAIN=off — none, so sessions go to <home>/auth.json.
// Every binary (CLI, daemon, tray) chooses through it.
func KeychainFor(getenv func(string) string) Keychain {
	if strings.EqualFold(strings.TrimSpace(getenv(paths.KeychainEnv)), "off") {
		return offKeychain{}
	}
	return OSKeychain()
}

// offKeychain fails every call, so the store falls back to the file and
// says why.
type offKeychain struct{}

var errKeychainOff = errors.New("disabled by " + paths.KeychainEnv + "=off")

func (offKeychain) Get(string, string) (string, error) { return "", errKeychainOff }
func (offKeychain) Set(string, string, string) error   { return errKeychainOff }
func (offKeychain) Delete(string, string) error        { return errKeychainOff }

// OSKeychain returns the OS keychain (macOS Keychain, Windows Credential
// Manager, Secret Service over D-Bus). On Linux it reports itself unavailable
// without a session bus instead of letting D-Bus autolaunch a bus daemon.
func OSKeychain() Keychain { return osKeychainWith(os.Getenv, fileExists) }

func osKeychainWith(getenv func(string) string, exists func(string) bool) Keychain {
	return osKeychain{getenv: getenv, exists: exists, latch: &osLatch}
}

// osLatch remembers, for the whole process, that the OS keychain hung once
// (CONTRACTS §8.2: keychain calls are bounded by 5 s; every Store of a
// process shares that one budget).
var osLatch latch

type osKeychain struct {
	getenv func(string) string
	exists func(string) bool
	*latch
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
