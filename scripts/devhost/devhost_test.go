package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"all interfaces", []string{"-addr", ":8787"}, "not a loopback IP"},
		{"public address", []string{"-addr", "0.0.0.0:8787"}, "not a loopback IP"},
		{"host name", []string{"-addr", "localhost:8787"}, "not a loopback IP"},
		{"no port", []string{"-addr", "127.0.0.1"}, "missing port"},
		{"negative approve-after", []string{"-approve-after", "-1"}, "negative"},
		{"unknown flag", []string{"-public"}, "flag provided but not defined"},
		{"extra argument", []string{"serve"}, `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) || stdout.Len() != 0 {
				t.Errorf("stdout %q stderr %q, want an error containing %q", stdout.String(), stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestRunsAndStops(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build devhost: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "devhost")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ready := filepath.Join(dir, "ready")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-ready-file", ready, "-approve-after", "0")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})

	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil {
			url = strings.TrimSpace(string(b))
		}
		select {
		case err := <-done:
			t.Fatalf("devhost exited early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file after 20 s\n%s", stderr.String())
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("ready file holds %q", url)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, url+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("HEAD /: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("HEAD / = %d", res.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("devhost after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("devhost did not stop after SIGTERM")
	}

	out := stdout.String()
	for _, want := range []string{
		"export SPEC_KITTY_ENABLE_SAAS_SYNC=1\n",
		"export SPEC_KITTY_SAAS_URL=" + url + "\n",
		"spec-kitty auth login --headless\n",
		url + "/_test/approve",
		"Device logins wait for approval",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if log := stderr.String(); !strings.Contains(log, "method=HEAD path=/ status=200") || !strings.Contains(log, "msg=stopped") {
		t.Errorf("stderr lacks the request log or the clean stop:\n%s", log)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
}
