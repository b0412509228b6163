package ocicli

import (
	"strings"
	"testing"
)

func TestOCIConfigParser(t *testing.T) {
	cfg, err := Parse("/x/config", []byte("\ufeff# comment\n; other\n[DEFAULT]\nKey_File = ~/k.pem\nregion=iad\n\n[P]\nkey_file=rel/k.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.FilePath(cfg.Get("DEFAULT", "key_file"), "/home/u"); got != "/home/u/k.pem" {
		t.Errorf("~ expansion: %s", got)
	}
	if got := cfg.FilePath(cfg.Get("P", "key_file"), "/home/u"); got != "/x/rel/k.pem" {
		t.Errorf("relative path: %s", got)
	}
	if cfg.Get("P", "region") != "iad" {
		t.Error("P does not inherit region from DEFAULT")
	}
	// Windows line endings, a value longer than any read buffer, and
	// errors that still name the right line.
	long := strings.Repeat("a", 200<<10)
	cfg, err = Parse("c", []byte("[A]\r\nuser = u\r\n\r\nkey_content="+long+"\r\nregion=iad"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Get("A", "user") != "u" || cfg.Get("A", "key_content") != long || cfg.Get("A", "region") != "iad" {
		t.Errorf("CRLF file with a long line: user %q, region %q, key_content of %d bytes", cfg.Get("A", "user"), cfg.Get("A", "region"), len(cfg.Get("A", "key_content")))
	}
	if _, err := Parse("c", []byte("[A]\r\n\r\njunk\r\n")); err == nil || !strings.Contains(err.Error(), "c:3:") {
		t.Errorf("error for line 3: %v", err)
	}
	for _, bad := range []string{"user=x\n", "[]\n", "[A\n", "[A]\njunk\n", "[A]\n=v\n"} {
		if _, err := Parse("c", []byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParseOCIConfig(f *testing.F) {
	f.Add([]byte("[DEFAULT]\nuser=ocid1.user.oc1..u\nfingerprint=aa:bb\nkey_file=KEY\nregion=us-ashburn-1\n\n[PROD]\nuser=ocid1.user.oc1..prod\n"))
	f.Add([]byte("[DEFAULT]\nsecurity_token_file=~/t\n"))
	f.Add([]byte("\ufeff[A]\nk = v = w\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse("/c", raw)
		if err != nil {
			return
		}
		for name := range cfg.profiles {
			_ = cfg.FilePath(cfg.Get(name, "key_file"), "/h")
		}
	})
}
