package emulator

import (
	"net/http"
	"strings"
	"time"
)

// imdsPrefix is the path prefix of the IMDSv2 API.
const imdsPrefix = "/opc/v2"

// serveIMDS is the instance metadata service (plain HTTP, as on a real
// instance). Every request needs "Authorization: Bearer Oracle".
func (e *Emulator) serveIMDS(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		e.logf("emulator: imds %s %s -> %d (%s)", r.Method, r.URL.Path, rec.statusCode(), time.Since(start).Round(time.Millisecond))
	}()
	w = rec
	e.count(endpointIMDS, r.Host)
	if e.injectFault(w, r, endpointIMDS) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer Oracle" {
		writeJSON(w, http.StatusUnauthorized, ociErrorBody{Code: "NotAuthenticated", Message: "Authorization header 'Bearer Oracle' is required (IMDSv2)"})
		return
	}
	// IMDSv2 refuses requests that went through a proxy.
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Via") != "" {
		writeJSON(w, http.StatusForbidden, ociErrorBody{Code: "Forbidden", Message: "forwarded requests are refused"})
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, ociErrorBody{Code: "MethodNotAllowed", Message: "only GET is supported"})
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, imdsPrefix)
	if !ok {
		writeJSON(w, http.StatusNotFound, ociErrorBody{Code: "NotFound", Message: "not found"})
		return
	}
	switch path {
	case "/instance/region":
		writeText(w, "text/plain", e.region.Key)
	case "/instance/canonicalRegionName":
		writeText(w, "text/plain", e.region.ID)
	case "/instance/regionInfo":
		writeJSON(w, http.StatusOK, e.regionInfoJSON())
	case "/instance", "/instance/":
		writeJSON(w, http.StatusOK, map[string]any{
			"id":                  e.instanceID,
			"compartmentId":       e.compartmentID,
			"tenantId":            e.tenancyID,
			"region":              e.region.Key,
			"canonicalRegionName": e.region.ID,
			"displayName":         "ocir-emulator-instance",
			"shape":               "VM.Standard.E4.Flex",
			"regionInfo":          e.regionInfoJSON(),
		})
	case "/instance/id":
		writeText(w, "text/plain", e.instanceID)
	case "/instance/compartmentId":
		writeText(w, "text/plain", e.compartmentID)
	case "/identity/cert.pem":
		writeText(w, "application/x-pem-file", string(e.identity.leafPEM))
	case "/identity/key.pem":
		writeText(w, "application/x-pem-file", string(e.identity.leafKeyPEM))
	case "/identity/intermediate.pem":
		writeText(w, "application/x-pem-file", string(e.identity.intermediatePEM))
	default:
		writeJSON(w, http.StatusNotFound, ociErrorBody{Code: "NotFound", Message: "not found"})
	}
}

// regionInfoJSON is the instance's regionInfo as IMDS serves it.
func (e *Emulator) regionInfoJSON() map[string]string {
	return map[string]string{
		"realmKey":             e.region.Realm,
		"realmDomainComponent": e.region.Domain,
		"regionKey":            strings.ToUpper(e.region.Key),
		"regionIdentifier":     e.region.ID,
	}
}

func writeText(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}
