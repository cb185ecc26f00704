//go:build darwin && !cgo

package main

// stubNote: a darwin build without cgo has no menu bar icon (fyne.io/systray
// needs cgo there); install.sh looks for this text to refuse such a binary.
const stubNote = " stub: built without cgo, no menu bar icon"
