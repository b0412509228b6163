package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunPrintsReadyAndRemovesEnvOnShutdown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "emu")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- newApp(pw, &stderr, "v0.0.0-test").RunContext(ctx, []string{"ocir-emulator", "--dir", dir})
		pw.Close()
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading stdout: %v (stderr %q)", err, stderr.String())
	}
	envFile := filepath.Join(dir, "env")
	if want := "ready " + envFile + "\n"; line != want {
		t.Errorf("stdout %q, want %q", line, want)
	}
	env, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(env), "HTTPS_PROXY=http://127.0.0.1:") {
		t.Errorf("env file %q, %v", env, err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop after cancellation")
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file still present after shutdown: %v", err)
	}
}

func TestDirIsRequired(t *testing.T) {
	var out, errOut bytes.Buffer
	err := newApp(&out, &errOut, "v0.0.0-test").Run([]string{"ocir-emulator"})
	if err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("err = %v, want a missing --dir error", err)
	}
}

func TestVersionIsTheLinkedOne(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := newApp(&out, &errOut, "v1.2.3-linked").Run([]string{"ocir-emulator", "--version"}); err != nil {
		t.Fatalf("--version: %v (stderr %q)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "v1.2.3-linked") {
		t.Errorf("--version printed %q, want the linked version v1.2.3-linked", out.String())
	}
}
