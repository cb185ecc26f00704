//go:build !darwin || cgo

package main

const stubNote = ""
