package helper

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

// notFound is what the protocol answers when a client is to go on
// anonymously.
const notFound = "credentials not found in native keychain\n"

func TestGetNeverAnswersTheOAuthTokenUsername(t *testing.T) {
	h := New(usernameSource{newFake(t)})
	user, secret, err := h.Get("iad.ocir.io")
	if err != nil || user != "BEARER_TOKEN" || secret != "tok-123" {
		t.Fatalf("got %q %q %v", user, secret, err)
	}
}

// usernameSource answers "<token>" as user name, which docker would treat
// as an OAuth refresh token.
type usernameSource struct{ *fakeSource }

func (u usernameSource) Credential(ctx context.Context, s string, o ...ocir.RequestOption) (ocir.Credential, error) {
	c, err := u.fakeSource.Credential(ctx, s, o...)
	c.Username = "<token>"
	return c, err
}

func TestServeMatchesCredentialsServeConventions(t *testing.T) {
	h := New(newFake(t))
	var out bytes.Buffer
	if code := h.Serve("version", strings.NewReader(""), &out); code != ExitUsage {
		t.Errorf("Serve(version) = %d; version is handled by the command line", code)
	}
	out.Reset()
	if code := h.Serve("get", strings.NewReader(""), &out); code != 1 || out.String() != "no credentials server URL\n" {
		t.Errorf("empty get: %d %q", code, out.String())
	}
	out.Reset()
	long := strings.Repeat("a", 100<<10)
	if code := h.Serve("get", strings.NewReader(long), &out); code != 1 || !strings.HasPrefix(out.String(), ProgramName+": get: the request on stdin has a line longer than") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("a 100 KiB line: %d %q; want one line that says what is wrong", code, out.String())
	}
	for _, in := range []string{"not json", `{"ServerURL": 1}`, `{"ServerURL": "iad.ocir.io"`} {
		out.Reset()
		if code := h.Serve("store", strings.NewReader(in), &out); code != 1 || !strings.HasPrefix(out.String(), ProgramName+": store: the request on stdin is not the credentials JSON object: ") || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("store %q: %d %q; want one line that says what is wrong", in, code, out.String())
		}
	}
}

func TestParseOnError(t *testing.T) {
	for in, want := range map[string]OnError{"": OnErrorFail, "error": OnErrorFail, " Anonymous ": OnErrorAnonymous} {
		if got, err := ParseOnError(in); err != nil || got != want {
			t.Errorf("%q: got %v %v", in, got, err)
		}
	}
	if _, err := ParseOnError("anon"); err == nil {
		t.Error("anon accepted")
	}
}

// Options given nil mean their default, and a Helper without a source
// fails each Get with an error rather than panicking.
func TestNilOptionsMeanTheDefaultAndNoSourceIsAnError(t *testing.T) {
	//lint:ignore SA1012 a nil context is the misuse under test
	h := New(newFake(t), nil, WithContext(nil), WithStderr(nil), WithLogger(nil), WithClock(nil))
	if user, secret, err := h.Get("iad.ocir.io"); err != nil || user != "BEARER_TOKEN" || secret == "" {
		t.Errorf("Get with nil options = %q, %q, %v", user, secret, err)
	}
	for name, src := range map[string]Source{"nil source": nil, "nil provider": (*ocir.Provider)(nil)} {
		if _, _, err := New(src).Get("iad.ocir.io"); err == nil || !strings.Contains(err.Error(), "not built by ocir.New") {
			t.Errorf("%s: Get = %v, want an error saying the provider was not built", name, err)
		}
	}
}
