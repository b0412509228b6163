package ocir

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// writeKey writes an unencrypted PKCS#1 RSA key.
func writeKey(t *testing.T, path string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	raw := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	home, cfgPath, keyPath string
	env                    map[string]string
}

func newFixture(t *testing.T, ociConfig string) *fixture {
	t.Helper()
	f := &fixture{home: t.TempDir(), env: map[string]string{}}
	f.env["HOME"] = f.home
	_ = os.MkdirAll(filepath.Join(f.home, ".oci"), 0o700)
	f.keyPath = filepath.Join(f.home, ".oci", "key.pem")
	writeKey(t, f.keyPath)
	f.cfgPath = filepath.Join(f.home, ".oci", "config")
	if ociConfig != "" {
		if err := os.WriteFile(f.cfgPath, []byte(strings.ReplaceAll(ociConfig, "KEY", f.keyPath)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) provider(opts ...Option) *Provider {
	return New(append([]Option{WithGetenv(func(k string) string { return f.env[k] }), WithCacheDir(""), withDMIPath(filepath.Join(f.home, "no-dmi"))}, opts...)...)
}

const apiKeyConfig = `
[DEFAULT]
user=ocid1.user.oc1..u
fingerprint=aa:bb
tenancy=ocid1.tenancy.oc1..t
region=us-ashburn-1
key_file=KEY

[PROD]
user=ocid1.user.oc1..prod
fingerprint=cc:dd
`

var iad = registry.Registry{Host: "iad.ocir.io"}

func TestAutoIdentityOrder(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		env      map[string]string
		rules    []config.Rule
		wantAuth string
		wantKey  string // substring of cache key
	}{
		{"default profile", apiKeyConfig, nil, nil, AuthAPIKey, "|DEFAULT|"},
		{"OCI_CLI_PROFILE selects profile, keys inherit from DEFAULT", apiKeyConfig, map[string]string{"OCI_CLI_PROFILE": "PROD"}, nil, AuthAPIKey, "|PROD|ocid1.tenancy.oc1..t/ocid1.user.oc1..prod/cc:dd"},
		{"env API key beats profile", apiKeyConfig, map[string]string{"OCI_CLI_USER": "u2", "OCI_CLI_TENANCY": "t2", "OCI_CLI_FINGERPRINT": "f2", "OCI_CLI_KEY_CONTENT": "x"}, nil, AuthAPIKey, "api_key|env|t2/u2/f2"},
		{"resource principal beats everything", apiKeyConfig, map[string]string{"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_RESOURCE_PRINCIPAL_RPST": "tok", "OCI_CLI_USER": "u2"}, nil, AuthResourcePrincipal, "resource_principal"},
		{"config rule beats resource principal", apiKeyConfig, map[string]string{"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_RESOURCE_PRINCIPAL_RPST": "tok"}, []config.Rule{{Match: "*.ocir.io", Auth: "api_key", Profile: "PROD"}}, AuthAPIKey, "|PROD|"},
		{"rule for other hosts is ignored", apiKeyConfig, nil, []config.Rule{{Match: "ocir.*.oci.oraclegovcloud.com", Auth: "instance_principal"}}, AuthAPIKey, "|DEFAULT|"},
		{"session token profile", "[DEFAULT]\nsecurity_token_file=/tmp/tok\nkey_file=KEY\nregion=us-ashburn-1\n", nil, nil, AuthSecurityToken, "security_token|"},
		{"authentication_type instance_principal", "[DEFAULT]\nauthentication_type=instance_principal\n", nil, nil, AuthInstancePrincipal, "instance_principal|"},
		{"metadata URL set makes instance principal plausible", "", map[string]string{"OCI_METADATA_BASE_URL": "http://127.0.0.1:1/opc/v2"}, nil, AuthInstancePrincipal, "instance_principal|http://127.0.0.1:1/opc/v2"},
		{"OCI_CLI_AUTH instance_principal overrides profile", apiKeyConfig, map[string]string{"OCI_CLI_AUTH": "instance_principal"}, nil, AuthInstancePrincipal, "instance_principal|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.config)
			for k, v := range tt.env {
				f.env[k] = v
			}
			p := f.provider(WithConfig(&config.File{Registries: tt.rules}))
			id, err := p.resolveIdentity(iad, &request{})
			if err != nil {
				t.Fatalf("resolveIdentity: %v", err)
			}
			if id.auth != tt.wantAuth || !strings.Contains(id.cacheKey, tt.wantKey) {
				t.Errorf("got auth %s key %q; want %s containing %q", id.auth, id.cacheKey, tt.wantAuth, tt.wantKey)
			}
			if id.reason == "" && id.rule == "" {
				t.Error("no reason recorded")
			}
		})
	}
}

func TestCacheKeyNeverContainsSecrets(t *testing.T) {
	f := newFixture(t, "")
	f.env["OCI_RESOURCE_PRINCIPAL_VERSION"] = "2.2"
	f.env["OCI_RESOURCE_PRINCIPAL_RPST"] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvY2lkMS5mbi54In0.c2ln"
	id, err := f.provider().resolveIdentity(iad, &request{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(id.cacheKey, "eyJ") || !strings.Contains(id.cacheKey, "ocid1.fn.x") {
		t.Errorf("cache key %q must name the subject, not hold the token", id.cacheKey)
	}
}

func TestIdentityErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		env    map[string]string
		kind   error
		want   string
	}{
		{"nothing configured", "", nil, ErrNoIdentity, "no OCI identity"},
		{"config without DEFAULT falls through", "[OTHER]\nuser=x\n", nil, ErrNoIdentity, "no OCI identity"},
		{"named profile missing", apiKeyConfig, map[string]string{"OCI_CLI_PROFILE": "NOPE"}, ErrIdentityBroken, "profile [NOPE] not found"},
		{"profile missing fields", "[DEFAULT]\nuser=x\n", nil, ErrIdentityBroken, "missing fingerprint, key_file, tenancy"},
		{"malformed config", "[DEFAULT\nuser=x\n", nil, ErrIdentityBroken, "malformed profile header"},
		{"explicit config file missing", "", map[string]string{"OCI_CLI_CONFIG_FILE": "/nonexistent/config"}, ErrIdentityBroken, "read OCI config"},
		{"partial env API key", "", map[string]string{"OCI_CLI_USER": "u"}, ErrIdentityBroken, "OCI_CLI_TENANCY"},
		{"obo unsupported", "", map[string]string{"OCI_CLI_AUTH": "instance_obo_user"}, ErrIdentityBroken, "not supported"},
		{"unknown auth", "", map[string]string{"OCI_CLI_AUTH": "password"}, ErrIdentityBroken, `"password"`},
		{"security_token without token file", apiKeyConfig, map[string]string{"OCI_CLI_AUTH": "security_token"}, ErrIdentityBroken, "oci session authenticate"},
		{"explicit resource principal without env", "", map[string]string{"OCI_CLI_AUTH": "resource_principal"}, ErrIdentityBroken, "OCI_RESOURCE_PRINCIPAL_VERSION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.config)
			for k, v := range tt.env {
				f.env[k] = v
			}
			_, err := f.provider().resolveIdentity(iad, &request{})
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want kind %v containing %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestInheritedSessionTokenDoesNotHijackAPIKeyProfile(t *testing.T) {
	f := newFixture(t, "[DEFAULT]\nsecurity_token_file=/tmp/tok\nkey_file=KEY\nregion=us-ashburn-1\n\n[PROD]\nuser=u\nfingerprint=f\ntenancy=t\nkey_file=KEY\n")
	f.env["OCI_CLI_PROFILE"] = "PROD"
	id, err := f.provider().resolveIdentity(iad, &request{})
	if err != nil || id.auth != AuthAPIKey {
		t.Fatalf("PROD resolved to %+v, %v; want its own API key", id, err)
	}
	f.env["OCI_CLI_PROFILE"] = ""
	f.env["OCI_CLI_AUTH"] = "api_key"
	if _, err := f.provider().resolveIdentity(iad, &request{}); !errors.Is(err, ErrIdentityBroken) {
		t.Errorf("api_key mode on a session-only profile: err = %v, want broken (missing user…)", err)
	}
}

func TestClassifySDKError(t *testing.T) {
	for msg, want := range map[string]error{
		"failed to get security token: Status: 401 NotAuthenticated": ErrAuth,
		"please ensure the cluster type is enhanced: Status: 403":    ErrAuth,
		"failed to get a Workload Identity token. Status: 500":       ErrTransient,
		"connection reset by peer":                                   ErrTransient,
	} {
		if got := classifySDKError(errors.New(msg)); got != want {
			t.Errorf("%q → %v, want %v", msg, got, want)
		}
	}
}
