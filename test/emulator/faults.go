package emulator

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault makes an endpoint misbehave. Faults are checked in the order they were
// added; the first one matching a request is applied (and its Count used up).
type Fault struct {
	// Endpoint is one of "token" (OCI-signed OCIR token requests),
	// "registry-auth" (basic or anonymous exchanges at the token realm),
	// "registry" (/v2/ requests), "federation", "imds" or "oke".
	Endpoint string
	// Host limits the fault to requests for this host (e.g. "iad.ocir.io");
	// compared without the port unless it has one. Empty matches every host.
	Host string
	// Status answers with this HTTP status and an error body in the
	// endpoint's style (OCI {"code","message"} or registry {"errors":[…]}),
	// plus an opc-request-id header. 0 with an empty Body means only Delay
	// applies and the request is then handled normally.
	Status int
	// Body is sent verbatim instead of the generated error body (status 200
	// when Status is 0), e.g. malformed JSON.
	Body string
	// Header holds extra response headers, e.g. Retry-After.
	Header map[string]string
	// Delay is slept before answering; the wait ends early, without an
	// answer, when the client goes away.
	Delay time.Duration
	// Hang never answers: the request is held until the client goes away or
	// the emulator is closed.
	Hang bool
	// Count applies the fault to the next Count matching requests; 0 means
	// forever.
	Count int
}

// faultEndpoints are the endpoint names a Fault may target.
var faultEndpoints = map[string]bool{
	endpointToken: true, endpointRegistryAuth: true, endpointRegistry: true,
	endpointFederation: true, endpointIMDS: true, endpointOKE: true,
	endpointIDCS: true, endpointOIDC: true,
}

type faultEntry struct {
	f         Fault
	remaining int // only meaningful when f.Count > 0
}

type faultList struct {
	mu      sync.Mutex
	entries []*faultEntry
}

func (l *faultList) add(f Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, &faultEntry{f: f, remaining: f.Count})
}

func (l *faultList) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}

// take returns the first fault matching endpoint and host and uses up one of
// its applications.
func (l *faultList) take(endpoint, host string) (Fault, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, fe := range l.entries {
		if fe.f.Endpoint != endpoint || !hostMatches(fe.f.Host, host) {
			continue
		}
		f := fe.f
		if f.Count > 0 {
			fe.remaining--
			if fe.remaining <= 0 {
				l.entries = append(l.entries[:i:i], l.entries[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// hostMatches compares a fault's host filter with a request's Host header.
func hostMatches(filter, requestHost string) bool {
	if filter == "" {
		return true
	}
	filter = strings.ToLower(filter)
	requestHost = strings.ToLower(requestHost)
	if filter == requestHost {
		return true
	}
	return filter == hostOnly(requestHost)
}

// AddFault installs a fault. It is safe to call while requests are served.
func (e *Emulator) AddFault(f Fault) {
	if !faultEndpoints[f.Endpoint] {
		e.logf("emulator: fault for unknown endpoint %q will never match", f.Endpoint)
	}
	e.faults.add(f)
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() { e.faults.clear() }

// injectFault applies the first matching fault to the request. It reports
// whether the request has been dealt with (answered, or abandoned because the
// client went away); false means the normal handler must run.
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	f, ok := e.faults.take(endpoint, r.Host)
	if !ok {
		return false
	}
	e.logf("emulator: fault %s %s%s: status=%d delay=%s hang=%t", endpoint, r.Host, r.URL.Path, f.Status, f.Delay, f.Hang)
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-e.closing:
		}
		abortWithoutAnswer()
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			abortWithoutAnswer()
		case <-e.closing:
			abortWithoutAnswer()
		}
	}
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	if f.Status == 0 && f.Body == "" {
		return false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body != "" {
		setOPCRequestID(w, r)
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return true
	}
	switch endpoint {
	case endpointRegistry:
		writeRegistryError(w, status, registryCodeFor(status), "injected fault: "+http.StatusText(status))
	default:
		writeOCIError(w, r, status, ociCodeFor(status), "injected fault: "+http.StatusText(status))
	}
	return true
}

// ociCodeFor maps a status to the error code OCI services use with it.
func ociCodeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "InvalidParameter"
	case http.StatusUnauthorized:
		return "NotAuthenticated"
	case http.StatusForbidden, http.StatusNotFound:
		return "NotAuthorizedOrNotFound"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusGatewayTimeout:
		return "GatewayTimeout"
	default:
		if status >= 500 {
			return "InternalServerError"
		}
		return "Error"
	}
}

// registryCodeFor maps a status to a distribution error code.
func registryCodeFor(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusNotFound:
		return "NAME_UNKNOWN"
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	default:
		return "UNKNOWN"
	}
}

// abortWithoutAnswer ends a held request with no response at all. A handler
// that merely returned would make net/http answer an empty 200, which a
// client still waiting (the emulator closing under it) reads as a success
// with an empty body instead of the dropped connection the fault stands for.
func abortWithoutAnswer() {
	panic(http.ErrAbortHandler)
}
