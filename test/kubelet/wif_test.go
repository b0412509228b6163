package kubelet

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// TestWorkloadIdentityFederationPerServiceAccount: on a cluster outside OCI
// the kubelet requests each pod's service-account token for the identity
// domain's audience, the plugin exchanges it there, and the OCIR token is
// issued to that pod's federated subject.
func TestWorkloadIdentityFederationPerServiceAccount(t *testing.T) {
	const image = "zrh.ocir.io/demotenancy/hello"
	principal := func(password string) string {
		for _, tok := range h.Emulator.IssuedTokens() {
			if tok.Token == password {
				return tok.Kind + " " + tok.Principal
			}
		}
		return "(not issued by the emulator)"
	}
	exchanges := h.Emulator.Count("idcs")
	var got []string
	for _, sa := range []string{"team-a/app", "team-b/plain"} {
		ns, name, _ := strings.Cut(sa, "/")
		var creds []Credential
		withDeadline(t, time.Minute, func() { creds = LookupAs(ns, name, image) })
		if len(creds) != 1 {
			t.Fatalf("%s: %d credentials, want 1 (the pod's own; the node entry has no subject token)", sa, len(creds))
		}
		p := principal(creds[0].Password)
		if p != emulator.KindWorkloadIdentityFederation+" system:serviceaccount:"+ns+":"+name {
			t.Errorf("%s: token issued to %s", sa, p)
		}
		pullable(t, image, creds[0].Username, creds[0].Password)
		got = append(got, creds[0].Password)
	}
	if got[0] == got[1] {
		t.Error("two service accounts share one token")
	}
	if n := h.Emulator.Count("idcs") - exchanges; n != 2 {
		t.Errorf("%d exchanges for two service accounts, want 2", n)
	}
	// The service-account token is never echoed: no response holds a JWT
	// signed by the cluster's key (whose header is fixed).
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"emulator-service-account-key","typ":"JWT"}`))
	responses, err := h.Responses("ocir-wif-workload")
	if err != nil || len(responses) == 0 {
		t.Fatalf("no responses recorded: %v", err)
	}
	for _, r := range responses {
		if strings.Contains(r, header) {
			t.Errorf("a response echoes the service-account token: %s", redact(r, ""))
		}
	}
}
