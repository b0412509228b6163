package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// faultJSON is the wire form of a Fault in the control API; durations are Go
// duration strings ("250ms", "2s").
type faultJSON struct {
	Endpoint string            `json:"endpoint"`
	Host     string            `json:"host,omitempty"`
	Status   int               `json:"status,omitempty"`
	Body     string            `json:"body,omitempty"`
	Header   map[string]string `json:"header,omitempty"`
	Delay    string            `json:"delay,omitempty"`
	Hang     bool              `json:"hang,omitempty"`
	Count    int               `json:"count,omitempty"`
}

func (f faultJSON) fault() (Fault, error) {
	if !faultEndpoints[f.Endpoint] {
		return Fault{}, fmt.Errorf("unknown endpoint %q (token, registry-auth, registry, federation, imds, oke)", f.Endpoint)
	}
	var d time.Duration
	if f.Delay != "" {
		var err error
		if d, err = time.ParseDuration(f.Delay); err != nil || d < 0 {
			return Fault{}, fmt.Errorf("invalid delay %q", f.Delay)
		}
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return Fault{}, fmt.Errorf("invalid status %d", f.Status)
	}
	if f.Count < 0 {
		return Fault{}, fmt.Errorf("invalid count %d", f.Count)
	}
	return Fault{Endpoint: f.Endpoint, Host: f.Host, Status: f.Status, Body: f.Body, Header: f.Header, Delay: d, Hang: f.Hang, Count: f.Count}, nil
}

// controlHandler serves the control API; see docs/emulator.md.
func (e *Emulator) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, "text/plain", "ok\n")
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, "text/plain", strings.Join(e.Env(), "\n")+"\n")
	})
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.snapshot())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		e.ResetCounters()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.IssuedTokens())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var fj faultJSON
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fj); err != nil {
			http.Error(w, "invalid fault JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		f, err := fj.fault()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.AddFault(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /clock", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("offset"))
		if err != nil {
			http.Error(w, "offset must be a Go duration, e.g. -10m", http.StatusBadRequest)
			return
		}
		e.SetClockOffset(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /token-ttl", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil {
			http.Error(w, "d must be a Go duration, e.g. 10m (0 omits expires_in)", http.StatusBadRequest)
			return
		}
		e.SetTokenTTL(d)
		w.WriteHeader(http.StatusNoContent)
	})
	// POST denies a repository, DELETE allows it again (the undo, without
	// a restart).
	for method, apply := range map[string]func(string){"POST": e.DenyRepo, "DELETE": e.AllowRepo} {
		mux.HandleFunc(method+" /deny", func(w http.ResponseWriter, r *http.Request) {
			repo := strings.Trim(r.URL.Query().Get("repo"), "/")
			if repo == "" || !strings.Contains(repo, "/") {
				http.Error(w, "repo must be <namespace>/<repository>", http.StatusBadRequest)
				return
			}
			apply(repo)
			w.WriteHeader(http.StatusNoContent)
		})
	}
	e.wifControl(mux)
	return mux
}
