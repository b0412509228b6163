package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// federationReport prints the workload identity federation setup: domain,
// client, where the subject token comes from and its claims (never the
// token, the session or the secret).
func federationReport(r *report, f *ocir.FederationInfo, now time.Time) {
	if f == nil {
		return
	}
	r.line("domain", "%s (client %s, %s session)", f.DomainURL, f.ClientID, f.TokenType)
	if f.Err != nil {
		r.problem("subject", "%s: %s", f.SubjectSource, helper.OneLine(f.Err.Error()))
		return
	}
	claims := fmt.Sprintf("iss %s, sub %s, aud %s", orDash(f.Issuer), orDash(f.Subject), orDash(strings.Join(f.Audience, " ")))
	switch {
	case f.Expires.IsZero():
		r.line("subject", "%s: %s, no exp", f.SubjectSource, claims)
	case !f.Expires.After(now):
		r.problem("subject", "%s: %s, expired at %s", f.SubjectSource, claims, f.Expires.UTC().Format(time.RFC3339))
		r.fix("the subject token expired; request or write a fresh one right before the pull")
	default:
		r.line("subject", "%s: %s, expires %s (%s left)", f.SubjectSource, claims, f.Expires.UTC().Format(time.RFC3339), f.Expires.Sub(now).Round(time.Second))
	}
}

// federationPolicyHint names the federated principal a refused pull was
// made as, since the IAM policy is written for the service user it maps to.
func federationPolicyHint(r *report, f *ocir.FederationInfo, pc pullcheck.Result) {
	if f == nil || !pc.Denied {
		return
	}
	r.fix("the pull was made as federated subject %s (iss %s): in identity domain %s, map it to a service user in the identity propagation trust and put that user in the group", orDash(f.Subject), orDash(f.Issuer), f.DomainURL)
}
