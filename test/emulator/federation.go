package emulator

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// federationPath is the X.509 federation endpoint of the auth service.
const federationPath = "/v1/x509"

// instanceTokenTTL is the lifetime of instance-principal security tokens.
const instanceTokenTTL = 20 * time.Minute

// federationRequest is the body the SDK posts to /v1/x509.
type federationRequest struct {
	Certificate              string   `json:"certificate"`
	PublicKey                string   `json:"publicKey"`
	IntermediateCertificates []string `json:"intermediateCertificates"`
	FingerprintAlgorithm     string   `json:"fingerprintAlgorithm"`
}

// serveFederation is auth.<region>.<domain>: POST /v1/x509 exchanges an
// instance certificate (signed request) for a security token bound to the
// session public key in the body.
func (e *Emulator) serveFederation(w http.ResponseWriter, r *http.Request) {
	e.count(endpointFederation, r.Host)
	if e.injectFault(w, r, endpointFederation) {
		return
	}
	if r.URL.Path != federationPath {
		writeOCIError(w, r, http.StatusNotFound, "NotAuthorizedOrNotFound", "ocir-emulator: the auth service only implements POST "+federationPath)
		return
	}
	body, sig, ok := e.readSigned(w, r, http.MethodPost, "federation")
	if !ok {
		return
	}
	var req federationRequest
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil || req.Certificate == "" || req.PublicKey == "" {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", "body must be JSON with certificate and publicKey")
		return
	}
	leaf, err := parseCertificate(req.Certificate)
	if err != nil {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", "certificate: "+err.Error())
		return
	}
	if err := e.checkInstanceCertificate(sig.keyID, leaf.Raw, req.IntermediateCertificates); err != nil {
		e.notAuthenticated(w, r, "emulator: federation: %v", err)
		return
	}
	pub, ok := e.identity.leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		writeOCIError(w, r, http.StatusInternalServerError, "InternalServerError", "leaf key is not RSA")
		return
	}
	required := []string{"date", "(request-target)", "content-length", "content-type", "x-content-sha256"}
	if err := verifySignature(r, sig, pub, required, body); err != nil {
		e.notAuthenticated(w, r, "emulator: federation: %v", err)
		return
	}
	sessionKey, err := parseRSAPublicKey(req.PublicKey)
	if err != nil {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", "publicKey: "+err.Error())
		return
	}
	now := e.now()
	tok, err := e.signSecurityToken(sessionKey, "instance-", now, now.Add(instanceTokenTTL), map[string]any{
		"sub":             e.instanceID,
		"ptype":           "instance",
		"ttype":           "x509",
		"opc-certtype":    "instance",
		"opc-instance":    e.instanceID,
		"opc-compartment": e.compartmentID,
		"opc-tenant":      e.tenancyID,
	})
	if err != nil {
		writeOCIError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	setOPCRequestID(w, r)
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// checkInstanceCertificate verifies the federation keyId
// (<tenancy>/fed-x509-sha256/<fingerprint>) against the leaf certificate the
// emulator issued, and that the chain is the emulator's.
func (e *Emulator) checkInstanceCertificate(keyID string, leafDER []byte, intermediates []string) error {
	parts := strings.Split(keyID, "/")
	if len(parts) != 3 {
		return errors.New("keyId is not <tenancy>/fed-x509-sha256/<fingerprint>")
	}
	var fp string
	switch parts[1] {
	case "fed-x509-sha256":
		sum := sha256.Sum256(leafDER)
		fp = colonHex(sum[:])
	case "fed-x509":
		sum := sha1.Sum(leafDER)
		fp = colonHex(sum[:])
	default:
		return errors.New("keyId is not a federation key id")
	}
	if !strings.EqualFold(parts[2], fp) {
		return errors.New("keyId fingerprint does not match the certificate")
	}
	if !bytes.Equal(leafDER, e.identity.leaf.Raw) {
		return errors.New("certificate was not issued to this instance")
	}
	if parts[0] != subjectValue(e.identity.leaf, "opc-tenant:") {
		return errors.New("keyId tenancy does not match the certificate")
	}
	found := false
	for _, s := range intermediates {
		c, err := parseCertificate(s)
		if err == nil && bytes.Equal(c.Raw, e.identity.intermediate.Raw) {
			found = true
		}
	}
	if !found {
		return errors.New("intermediate certificate missing or not the emulator's")
	}
	if err := e.identity.leaf.CheckSignatureFrom(e.identity.intermediate); err != nil {
		return err
	}
	now := e.now()
	if now.Before(e.identity.leaf.NotBefore) || now.After(e.identity.leaf.NotAfter) {
		return errors.New("certificate is not valid at the emulator's time")
	}
	return nil
}

// refuseDate answers a request whose Date is missing, unparseable or
// skewed; only skew gets the clock-skew message.
func (e *Emulator) refuseDate(w http.ResponseWriter, r *http.Request, what string, err error) {
	e.logf("emulator: %s: %v (emulator time %s, request Date %q)", what, err, e.now().UTC().Format(http.TimeFormat), r.Header.Get("Date"))
	msg := msgNotAuthenticated
	if errors.Is(err, errClockSkew) {
		msg += " The Date header of the request is more than 5 minutes away from the server time (clock skew); check the system clock."
	}
	writeOCIError(w, r, http.StatusUnauthorized, "NotAuthenticated", msg)
}
