package hostedtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults are the switchable misbehaviours. They apply to /oauth/* and
// /api/v1/* (ErrorFraction and UnauthorizedNext to /api/v1/* only), to HEAD /
// only when ProbeFaults is set, and never to /_test/* or /device.
//
// A request suffers at most one fault, tried in this order: Hang/HangNext,
// ResetNext/ResetFraction, RedirectNext, TooManyRequests, UnauthorizedNext,
// HTMLNext, TruncatedJSONNext, ErrorFraction. Latency is added before any of
// them. "Next" counters count down as requests in scope arrive; CurrentFaults
// shows what is left.
//
// The JSON form (POST /_test/faults) uses the field names in the json tags;
// durations are whole milliseconds.
type Faults struct {
	Latency           time.Duration // latency_ms: added to every request in scope
	ErrorFraction     float64       // error_fraction: this fraction of /api/v1 requests answer 500
	TooManyRequests   int           // too_many_requests: the next N answer 429
	RetryAfter        int           // retry_after_seconds: for the 429s (default 1)
	ResetFraction     float64       // reset_fraction: this fraction get their connection reset
	ResetNext         int           // reset_next: the next N get their connection reset
	Hang              bool          // hang: every request hangs until the client gives up or Close
	HangNext          int           // hang_next: the next N hang
	UnauthorizedNext  int           // unauthorized_next: the next N /api/v1 requests answer 401 token_expired
	HTMLNext          int           // html_next: the next N answer 200 with an HTML page
	TruncatedJSONNext int           // truncated_json_next: the next N answer 200 with cut-off JSON
	RedirectNext      int           // redirect_next: the next N answer 307 to another host
	RedirectTo        string        // redirect_to: that host (default http://127.0.0.2:<same port>)
	ProbeFaults       bool          // probe_faults: HEAD / is in scope too
	Seed              uint64        // seed: reseeds the fractions when non-zero
}

// faultsWire is the JSON form of Faults.
type faultsWire struct {
	LatencyMS         int64   `json:"latency_ms"`
	ErrorFraction     float64 `json:"error_fraction"`
	TooManyRequests   int     `json:"too_many_requests"`
	RetryAfter        int     `json:"retry_after_seconds"`
	ResetFraction     float64 `json:"reset_fraction"`
	ResetNext         int     `json:"reset_next"`
	Hang              bool    `json:"hang"`
	HangNext          int     `json:"hang_next"`
	UnauthorizedNext  int     `json:"unauthorized_next"`
	HTMLNext          int     `json:"html_next"`
	TruncatedJSONNext int     `json:"truncated_json_next"`
	RedirectNext      int     `json:"redirect_next"`
	RedirectTo        string  `json:"redirect_to"`
	ProbeFaults       bool    `json:"probe_faults"`
	Seed              uint64  `json:"seed"`
}

// MarshalJSON writes the /_test/faults form.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsWire{
		LatencyMS: f.Latency.Milliseconds(), ErrorFraction: f.ErrorFraction,
		TooManyRequests: f.TooManyRequests, RetryAfter: f.RetryAfter,
		ResetFraction: f.ResetFraction, ResetNext: f.ResetNext,
		Hang: f.Hang, HangNext: f.HangNext, UnauthorizedNext: f.UnauthorizedNext,
		HTMLNext: f.HTMLNext, TruncatedJSONNext: f.TruncatedJSONNext,
		RedirectNext: f.RedirectNext, RedirectTo: f.RedirectTo,
		ProbeFaults: f.ProbeFaults, Seed: f.Seed,
	})
}

// UnmarshalJSON reads the /_test/faults form; unknown fields are an error so
// a typo in a script does not silently switch nothing on.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*f = Faults{
		Latency: time.Duration(w.LatencyMS) * time.Millisecond, ErrorFraction: w.ErrorFraction,
		TooManyRequests: w.TooManyRequests, RetryAfter: w.RetryAfter,
		ResetFraction: w.ResetFraction, ResetNext: w.ResetNext,
		Hang: w.Hang, HangNext: w.HangNext, UnauthorizedNext: w.UnauthorizedNext,
		HTMLNext: w.HTMLNext, TruncatedJSONNext: w.TruncatedJSONNext,
		RedirectNext: w.RedirectNext, RedirectTo: w.RedirectTo,
		ProbeFaults: w.ProbeFaults, Seed: w.Seed,
	}
	return f.validate()
}

func (f Faults) validate() error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("latency %v is negative", f.Latency)
	case f.ErrorFraction < 0 || f.ErrorFraction > 1:
		return fmt.Errorf("error_fraction %v is outside 0..1", f.ErrorFraction)
	case f.ResetFraction < 0 || f.ResetFraction > 1:
		return fmt.Errorf("reset_fraction %v is outside 0..1", f.ResetFraction)
	case f.TooManyRequests < 0 || f.ResetNext < 0 || f.HangNext < 0 || f.UnauthorizedNext < 0 ||
		f.HTMLNext < 0 || f.TruncatedJSONNext < 0 || f.RedirectNext < 0 || f.RetryAfter < 0:
		return fmt.Errorf("fault counters must not be negative")
	}
	return nil
}

// Fault names one misbehaviour a request suffered, for FaultCount and the
// request log.
type Fault string

// The faults, as counted by FaultCount.
const (
	FaultHang            Fault = "hang"
	FaultReset           Fault = "reset"
	FaultRedirect        Fault = "redirect"
	FaultTooManyRequests Fault = "429"
	FaultUnauthorized    Fault = "401"
	FaultHTML            Fault = "html"
	FaultTruncatedJSON   Fault = "truncated_json"
	FaultServerError     Fault = "500"
	// FaultLatency is logged when a delayed request was abandoned; it is
	// not counted.
	FaultLatency Fault = "latency"
)

type faultState struct {
	mu      sync.Mutex
	cur     Faults
	seed    uint64
	rng     *rand.Rand
	applied map[Fault]int
}

func (fs *faultState) init(seed uint64) {
	fs.seed = seed
	fs.rng = newRand(seed)
	fs.applied = map[Fault]int{}
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.cur
}

// SetFaults replaces every fault switch at once and reseeds the fractions
// (with f.Seed, or Options.Seed when it is zero). An invalid value (negative
// counter, fraction outside 0..1) is refused.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("hostedtest: set faults: %w", err)
	}
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.cur = f
	seed := f.Seed
	if seed == 0 {
		seed = fs.seed
	}
	fs.rng = newRand(seed)
	return nil
}

// CurrentFaults returns the switches as they are now, with the "next"
// counters already counted down.
func (s *Server) CurrentFaults() Faults { return s.faults.get() }

// FaultCount is how many requests suffered the fault.
func (s *Server) FaultCount(f Fault) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.applied[f]
}

// pick decides the fault for one request in scope and counts it down.
func (fs *faultState) pick(api bool) (f Faults, name Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := &fs.cur
	f = *c
	take := func(n *int) bool {
		if *n > 0 {
			*n--
			return true
		}
		return false
	}
	// Draw both fractions on every request so one switch does not shift the
	// other's sequence.
	resetDraw, errorDraw := fs.rng.Float64(), fs.rng.Float64()
	switch {
	case c.Hang || take(&c.HangNext):
		name = FaultHang
	case take(&c.ResetNext) || resetDraw < c.ResetFraction:
		name = FaultReset
	case take(&c.RedirectNext):
		name = FaultRedirect
	case take(&c.TooManyRequests):
		name = FaultTooManyRequests
	case api && take(&c.UnauthorizedNext):
		name = FaultUnauthorized
	case take(&c.HTMLNext):
		name = FaultHTML
	case take(&c.TruncatedJSONNext):
		name = FaultTruncatedJSON
	case api && errorDraw < c.ErrorFraction:
		name = FaultServerError
	}
	if name != "" {
		fs.applied[name]++
	}
	return f, name
}

// applyFault answers r with a fault if one is due and returns its name, or
// "" when the request should be served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, api bool) Fault {
	f, name := s.faults.pick(api)
	if f.Latency > 0 && !s.wait(r.Context(), f.Latency) {
		// The client gave up or the server is closing: drop the connection
		// rather than let net/http send an empty 200.
		resetConn(w)
		return FaultLatency
	}
	switch name {
	case "":
		return ""
	case FaultHang:
		// Reading the body first lets net/http notice the client hanging up
		// (it only watches the connection once the body is consumed).
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBatchBytes+1))
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		// A hung request never gets an answer, not even an empty one.
		resetConn(w)
	case FaultReset:
		resetConn(w)
	case FaultRedirect:
		to := f.RedirectTo
		if to == "" {
			_, port, err := net.SplitHostPort(r.Host)
			if err != nil {
				port = "80"
			}
			to = "http://127.0.0.2:" + port
		}
		w.Header().Set("Location", to+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	case FaultTooManyRequests:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		writeJSON(w, http.StatusTooManyRequests, apiError{
			ErrorCode: "rate_limited", Message: "too many requests", Retryable: true, RetryAfterSeconds: ra,
		})
	case FaultUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "token_expired", "access token expired", false)
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Captive portal</h1></body></html>\n")
	case FaultTruncatedJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"results":[{"event_id":"01J`)
	case FaultServerError:
		writeError(w, http.StatusInternalServerError, "internal_error", "injected server error", true)
	}
	return name
}

// resetConn closes the connection with a TCP RST and no response.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (e.g. HTTP/2): abort, which drops the connection.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
