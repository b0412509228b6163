//go:build unix

package ocir

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// TestSecretFilesOthersCanReadAreUsedWithOneWarning: a private key, a
// client secret or a subject token that group or others can read still
// works, as with the OCI CLI, but the log warns once per file and
// process, naming the file and never its content.
func TestSecretFilesOthersCanReadAreUsedWithOneWarning(t *testing.T) {
	// Each setup puts one secret file in use and returns it and a piece
	// of its content that must never be logged.
	profileKey := func(t *testing.T, w *world) (string, string) {
		k, err := w.e.NewAPIKey("perm")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.e.WriteProfile("PERM", k); err != nil {
			t.Fatal(err)
		}
		t.Setenv("OCI_CLI_PROFILE", "PERM")
		return k.KeyFile, middleLine(t, k.KeyFile)
	}
	envKey := func(t *testing.T, w *world) (string, string) {
		k, err := w.e.NewAPIKey("env")
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"OCI_CLI_USER": k.User, "OCI_CLI_TENANCY": k.Tenancy, "OCI_CLI_FINGERPRINT": k.Fingerprint, "OCI_CLI_KEY_FILE": k.KeyFile} {
			t.Setenv(name, v)
		}
		return k.KeyFile, middleLine(t, k.KeyFile)
	}
	clientSecret := func(t *testing.T, w *world) (string, string) {
		t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "repo:acme/app"}))
		return w.e.WIF().SecretFile, w.e.WIF().ClientSecret
	}
	subjectToken := func(t *testing.T, w *world) (string, string) {
		path := subjectFile(t, w, emulator.SubjectToken{Subject: "repo:acme/app"})
		t.Setenv("OCIR_WIF_TOKEN_FILE", path)
		return path, middleLine(t, path)
	}
	session := func(file func(emulator.SessionProfile) string) func(t *testing.T, w *world) (string, string) {
		return func(t *testing.T, w *world) (string, string) {
			sp, err := w.e.NewSessionToken("SESSIONPERM", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("OCI_CLI_PROFILE", sp.Profile)
			return file(sp), middleLine(t, file(sp))
		}
	}
	sessionToken := session(func(sp emulator.SessionProfile) string { return sp.TokenFile })
	sessionKey := session(func(sp emulator.SessionProfile) string { return sp.KeyFile })
	tests := []struct {
		name  string
		wif   bool
		setup func(t *testing.T, w *world) (path, secret string)
		mode  os.FileMode
		warns bool
	}{
		{"API key of a profile, world-readable", false, profileKey, 0o644, true},
		{"API key of a profile, group-readable", false, profileKey, 0o640, true},
		{"API key of a profile, private", false, profileKey, 0o600, false},
		{"API key of a profile, read-only for its owner", false, profileKey, 0o400, false},
		{"API key of OCI_CLI_KEY_FILE, world-readable", false, envKey, 0o644, true},
		{"API key of OCI_CLI_KEY_FILE, private", false, envKey, 0o600, false},
		{"session token file, world-readable", false, sessionToken, 0o644, true},
		{"session token file, private", false, sessionToken, 0o600, false},
		{"session key, world-readable", false, sessionKey, 0o644, true},
		{"WIF client secret file, world-readable", true, clientSecret, 0o644, true},
		{"WIF client secret file, private", true, clientSecret, 0o600, false},
		{"WIF subject token file, world-readable", true, subjectToken, 0o604, true},
		{"WIF subject token file, private", true, subjectToken, 0o600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *world
			if tt.wif {
				w = startWIF(t, true)
			} else {
				w = startWorld(t)
			}
			path, secret := tt.setup(t, w)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			p := w.provider(WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			// Twice, fetching anew: every file is read again, the
			// warning is not repeated.
			for range 2 {
				if _, err := p.Credential(context.Background(), "iad.ocir.io", WithForceRefresh()); err != nil {
					t.Fatalf("Credential: %v", err)
				}
			}
			var warnings []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, path) {
					warnings = append(warnings, line)
				}
			}
			switch {
			case tt.warns && (len(warnings) != 1 || !strings.Contains(warnings[0], "readable by group or others") || !strings.Contains(warnings[0], "chmod 600")):
				t.Errorf("want one warning naming %s and the fix, got:\n%s", path, logs.String())
			case !tt.warns && len(warnings) != 0:
				t.Errorf("a private file was warned about:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds the secret's content:\n%s", logs.String())
			}
		})
	}
}

// middleLine is a line from the middle of a file: a piece of its secret that
// no log line may hold.
func middleLine(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return lines[len(lines)/2]
}
