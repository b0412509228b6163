package emulator

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// okeTokenPath is the proxymux endpoint that issues workload RPSTs.
const okeTokenPath = "/resourcePrincipalSessionTokens"

// okeTokenTTL is the lifetime of OKE workload-identity tokens.
const okeTokenTTL = time.Hour

// serveOKE is the OKE proxymux (KUBERNETES_SERVICE_HOST:12250): it trades a
// service-account token and a pod public key for a resource principal
// session token, answered as the SDK expects: a JSON string holding base64
// of {"token":"ST$<jwt>"}.
func (e *Emulator) serveOKE(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		e.logf("emulator: oke %s %s -> %d (%s)", r.Method, r.URL.Path, rec.statusCode(), time.Since(start).Round(time.Millisecond))
	}()
	w = rec
	e.count(endpointOKE, r.Host)
	if e.injectFault(w, r, endpointOKE) {
		return
	}
	if r.URL.Path != okeTokenPath {
		writeOCIError(w, r, http.StatusNotFound, "NotFound", "ocir-emulator: the proxymux only implements POST "+okeTokenPath)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOCIError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "only POST is supported")
		return
	}
	scheme, sa, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || sa == "" {
		writeOCIError(w, r, http.StatusUnauthorized, "NotAuthenticated", "a Kubernetes service account token is required")
		return
	}
	signer, err := e.saSigner()
	if err != nil {
		writeOCIError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	claims, err := signer.verify(strings.TrimSpace(sa), e.now())
	if err != nil {
		e.logf("emulator: oke: service account token rejected: %v", err)
		writeOCIError(w, r, http.StatusUnauthorized, "NotAuthenticated", "invalid service account token: "+err.Error())
		return
	}
	sub, _ := claims["sub"].(string)
	if !strings.HasPrefix(sub, "system:serviceaccount:") {
		writeOCIError(w, r, http.StatusForbidden, "NotAuthorizedOrNotFound", "token subject is not a service account")
		return
	}
	var req struct {
		PodKey string `json:"podKey"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || req.PodKey == "" {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", `body must be {"podKey":"<PEM public key>"}`)
		return
	}
	pub, err := parseRSAPublicKey(req.PodKey)
	if err != nil {
		writeOCIError(w, r, http.StatusBadRequest, "InvalidParameter", "podKey: "+err.Error())
		return
	}
	now := e.now()
	tok, err := e.signSecurityToken(pub, "workload-", now, now.Add(okeTokenTTL), map[string]any{
		"sub":             sub,
		"res_tenant":      e.tenancyID,
		"res_compartment": e.compartmentID,
		"res_type":        "workload",
		"ptype":           "workload",
		"ttype":           "res",
	})
	if err != nil {
		writeOCIError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	inner, _ := json.Marshal(map[string]string{"token": "ST$" + tok})
	out, _ := json.Marshal(base64.StdEncoding.EncodeToString(inner))
	setOPCRequestID(w, r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
