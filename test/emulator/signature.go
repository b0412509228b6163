package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxClockSkew is how far a signed request's Date may be from the emulator's
// clock, as in OCI.
const maxClockSkew = 5 * time.Minute

// signatureParams is a parsed draft-cavage "Authorization: Signature ..." header.
type signatureParams struct {
	version   string
	headers   []string
	keyID     string
	algorithm string
	signature []byte
}

// parseSignature parses the value of an Authorization header of the form
// Signature version="1",headers="date (request-target) host",keyId="…",algorithm="rsa-sha256",signature="…".
func parseSignature(auth string) (*signatureParams, error) {
	scheme, rest, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Signature") {
		return nil, errors.New("authorization scheme is not Signature")
	}
	params := map[string]string{}
	s := strings.TrimSpace(rest)
	for s != "" {
		name, after, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("malformed signature parameter near %q", s)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if !strings.HasPrefix(after, `"`) {
			return nil, fmt.Errorf("signature parameter %q is not quoted", name)
		}
		end := strings.IndexByte(after[1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("signature parameter %q is not terminated", name)
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("duplicate signature parameter %q", name)
		}
		params[name] = after[1 : end+1]
		s = strings.TrimSpace(after[end+2:])
		if s == "" {
			break
		}
		if !strings.HasPrefix(s, ",") {
			return nil, fmt.Errorf("expected ',' after signature parameter %q", name)
		}
		s = strings.TrimSpace(s[1:])
	}
	p := &signatureParams{
		version:   params["version"],
		keyID:     params["keyid"],
		algorithm: params["algorithm"],
	}
	if p.version != "" && p.version != "1" {
		return nil, fmt.Errorf("unsupported signature version %q", p.version)
	}
	if p.keyID == "" {
		return nil, errors.New("signature has no keyId")
	}
	if p.algorithm != "rsa-sha256" {
		return nil, fmt.Errorf("unsupported signature algorithm %q", p.algorithm)
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || len(sig) == 0 {
		return nil, errors.New("signature is not base64")
	}
	p.signature = sig
	h, ok := params["headers"]
	if !ok {
		h = "date" // the draft's default
	}
	p.headers = strings.Fields(strings.ToLower(h))
	return p, nil
}

// signingString rebuilds the string the client must have signed, from the
// request as it arrived.
func signingString(r *http.Request, headers []string) (string, error) {
	lines := make([]string, 0, len(headers))
	for _, h := range headers {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.RequestURI
		case "host":
			v = r.Host
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "", fmt.Errorf("signed header %q is missing from the request", h)
			}
			v = strings.Join(vals, ", ")
		}
		lines = append(lines, h+": "+v)
	}
	return strings.Join(lines, "\n"), nil
}

// verifySignature checks the signature over the request with pub. required
// lists headers the signature must cover. body is the request body already
// read; when the signature covers x-content-sha256 or content-length they
// must match it.
func verifySignature(r *http.Request, p *signatureParams, pub *rsa.PublicKey, required []string, body []byte) error {
	for _, h := range required {
		if !slices.Contains(p.headers, h) {
			if h == "date" && slices.Contains(p.headers, "x-date") {
				continue
			}
			return fmt.Errorf("signature does not cover required header %q", h)
		}
	}
	if slices.Contains(p.headers, "x-content-sha256") {
		sum := sha256.Sum256(body)
		if r.Header.Get("x-content-sha256") != base64.StdEncoding.EncodeToString(sum[:]) {
			return errors.New("x-content-sha256 does not match the body")
		}
	}
	if slices.Contains(p.headers, "content-length") {
		if n, err := strconv.Atoi(r.Header.Get("content-length")); err != nil || n != len(body) {
			return errors.New("content-length does not match the body")
		}
	}
	ss, err := signingString(r, p.headers)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ss))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.signature); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}

// errClockSkew is returned by checkDate when the request is dated too far
// from the emulator's clock.
var errClockSkew = errors.New("request date is outside the allowed clock skew")

// checkDate verifies the signed Date (or x-date) header against now.
func checkDate(r *http.Request, p *signatureParams, now time.Time) error {
	name := "date"
	if !slices.Contains(p.headers, "date") && slices.Contains(p.headers, "x-date") {
		name = "x-date"
	}
	raw := r.Header.Get(name)
	if raw == "" {
		return fmt.Errorf("missing %s header", name)
	}
	t, err := http.ParseTime(raw)
	if err != nil {
		return fmt.Errorf("unparseable %s header %q", name, raw)
	}
	d := now.Sub(t)
	if d < 0 {
		d = -d
	}
	if d > maxClockSkew {
		return errClockSkew
	}
	return nil
}

// readSigned is the common front of every signed endpoint: the method, the
// body (bounded), a parseable signature header and a Date within the
// allowed skew. On failure it has answered the request and returns false.
func (e *Emulator) readSigned(w http.ResponseWriter, r *http.Request, method, what string) ([]byte, *signatureParams, bool) {
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeOCIError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "only "+method+" is supported")
		return nil, nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", "cannot read body")
		return nil, nil, false
	}
	sig, err := parseSignature(r.Header.Get("Authorization"))
	if err != nil {
		e.notAuthenticated(w, r, "emulator: %s: %v", what, err)
		return nil, nil, false
	}
	if err := checkDate(r, sig, e.now()); err != nil {
		e.refuseDate(w, r, what, err)
		return nil, nil, false
	}
	return body, sig, true
}
