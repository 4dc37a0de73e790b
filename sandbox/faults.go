package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Faults is the sandbox's fault injection. Counters (FailFirst, LoseFirst, HangFirst) count
// down as requests consume them, so "fail the next two charges" is {"fail_first":2,
// "paths":["/v1/charges"]}. In JSON, durations are Go duration strings ("250ms").
type Faults struct {
	Latency      time.Duration // added before every API request
	FailFirst    int           // the next N matching requests answer FailStatus and do nothing
	FailRate     float64       // then this fraction of matching requests does the same
	FailStatus   int           // default 503
	LoseFirst    int           // the next N matching requests take effect, then answer FailStatus
	HangFirst    int           // the next N matching requests hang until the client gives up or HangFor passes
	HangFor      time.Duration // default 60s
	TokenMaxUses int           // an access token stops working after this many API calls (0 = never)
	TokenTTL     time.Duration // lifetime of issued tokens (default 1h)
	Paths        []string      // limit Fail*/Lose*/Hang*/Decline* to paths with these prefixes, or exactly this path when it ends in "$" (empty = every API path)
	// DeclineFirst: the next N matching payment requests are declined with DeclineCode
	// (default processing_error, a soft decline the sandbox marks retryable), whatever the card.
	DeclineFirst int
	DeclineCode  string
}

type faultsJSON struct {
	Latency      string   `json:"latency,omitempty"`
	FailFirst    int      `json:"fail_first,omitempty"`
	FailRate     float64  `json:"fail_rate,omitempty"`
	FailStatus   int      `json:"fail_status,omitempty"`
	LoseFirst    int      `json:"lose_first,omitempty"`
	HangFirst    int      `json:"hang_first,omitempty"`
	HangFor      string   `json:"hang_for,omitempty"`
	TokenMaxUses int      `json:"token_max_uses,omitempty"`
	TokenTTL     string   `json:"token_ttl,omitempty"`
	Paths        []string `json:"paths,omitempty"`
	DeclineFirst int      `json:"decline_first,omitempty"`
	DeclineCode  string   `json:"decline_code,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency: durString(f.Latency), FailFirst: f.FailFirst, FailRate: f.FailRate,
		FailStatus: f.FailStatus, LoseFirst: f.LoseFirst, HangFirst: f.HangFirst,
		HangFor: durString(f.HangFor), TokenMaxUses: f.TokenMaxUses,
		TokenTTL: durString(f.TokenTTL), Paths: f.Paths, DeclineFirst: f.DeclineFirst, DeclineCode: f.DeclineCode,
	})
}

// UnmarshalJSON reads the MarshalJSON shape and validates it.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	var out Faults
	var err error
	parse := func(s string, d *time.Duration) {
		if s == "" || err != nil {
			return
		}
		*d, err = time.ParseDuration(s)
	}
	parse(j.Latency, &out.Latency)
	parse(j.HangFor, &out.HangFor)
	parse(j.TokenTTL, &out.TokenTTL)
	if err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	if j.FailRate < 0 || j.FailRate > 1 {
		return fmt.Errorf("faults: fail_rate %v outside [0,1]", j.FailRate)
	}
	if j.FailStatus != 0 && (j.FailStatus < 400 || j.FailStatus > 599) {
		return fmt.Errorf("faults: fail_status %d is not an error status", j.FailStatus)
	}
	if j.FailFirst < 0 || j.LoseFirst < 0 || j.HangFirst < 0 || j.TokenMaxUses < 0 || j.DeclineFirst < 0 ||
		out.Latency < 0 || out.HangFor < 0 || out.TokenTTL < 0 {
		return fmt.Errorf("faults: negative value")
	}
	out.FailFirst, out.FailRate, out.FailStatus = j.FailFirst, j.FailRate, j.FailStatus
	out.LoseFirst, out.HangFirst, out.TokenMaxUses, out.Paths = j.LoseFirst, j.HangFirst, j.TokenMaxUses, j.Paths
	out.DeclineFirst, out.DeclineCode = j.DeclineFirst, j.DeclineCode
	*f = out
	return nil
}

// faultPlan is what instrument does to one request.
type faultPlan struct {
	latency, hangFor time.Duration
	fail, lose, hang bool
	status           int
	decline          string // decline the payment with this code
}

func (p faultPlan) String() string {
	switch {
	case p.hang:
		return "hang"
	case p.fail:
		return "fail"
	case p.lose:
		return "lose"
	case p.decline != "":
		return "decline"
	}
	return ""
}

// plan decides (and consumes counters) for one request; the caller holds the sandbox lock.
func (f *Faults) plan(path string, rnd *rand.Rand) faultPlan {
	p := faultPlan{latency: f.Latency, status: f.FailStatus, hangFor: f.HangFor}
	if p.status == 0 {
		p.status = http.StatusServiceUnavailable
	}
	if p.hangFor == 0 {
		p.hangFor = 60 * time.Second
	}
	if len(f.Paths) > 0 {
		match := false
		for _, pre := range f.Paths {
			if exact, ok := strings.CutSuffix(pre, "$"); ok && path == exact || !ok && strings.HasPrefix(path, pre) {
				match = true
				break
			}
		}
		if !match {
			return p
		}
	}
	switch {
	case f.HangFirst > 0:
		f.HangFirst--
		p.hang = true
	case f.FailFirst > 0:
		f.FailFirst--
		p.fail = true
	case f.LoseFirst > 0:
		f.LoseFirst--
		p.lose = true
	case f.DeclineFirst > 0 && payPath(path):
		f.DeclineFirst--
		p.decline = f.DeclineCode
		if p.decline == "" {
			p.decline = CodeProcessingError
		}
	case f.FailRate > 0 && rnd.Float64() < f.FailRate:
		p.fail = true
	}
	return p
}

// payPath reports whether path is one of the requests that pay (the ones a decline fault
// applies to): the session capture, the generic endpoint, the Stripe charge.
func payPath(path string) bool {
	return strings.HasSuffix(path, "/capture") && strings.Contains(path, "/session/") ||
		strings.HasPrefix(path, "/generic") || path == "/v1/charges"
}

// declineKey carries a decline fault to the handler in the request's context.
type declineKey struct{}

// faultDecline returns the decline code a fault imposes on r ("" = none).
func faultDecline(r *http.Request) string {
	c, _ := r.Context().Value(declineKey{}).(string)
	return c
}

// SetFaults replaces the injected faults of a running sandbox.
func (s *Provider) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// CurrentFaults returns the faults in force, with the counters that remain.
func (s *Provider) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func (s *Provider) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.CurrentFaults())
}

func (s *Provider) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	body, err := readBody(r)
	if err == nil {
		err = json.Unmarshal(body, &f)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}
