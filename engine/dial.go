package engine

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/callplan"
)

// The results of a Dial ($(Dial.Result)), the language's names.
const (
	DialAnswered     = callplan.DialAnswered
	DialBusy         = callplan.DialBusy
	DialNoAnswer     = callplan.DialNoAnswer
	DialFailed       = callplan.DialFailed
	DialCallerHungUp = callplan.DialCallerHungUp
)

// Dialer is implemented by channels that can place a second call leg and bridge the call to it
// (ivr.Call). The engine dials through it for <Dial> and for a Pay step whose connector takes
// the card on the provider's own capture line. A channel that is not a Dialer (replay) makes
// every Dial fail.
type Dialer interface {
	// Dial tries req's targets in order until one answers and returns the bridge to it. It
	// blocks while targets ring; the caller hears the far end's early media or a ring-back
	// tone meanwhile. When the caller hangs up first the ringing target is cancelled and the
	// result is caller-hung-up. The Bridge is nil unless the result is answered.
	Dial(ctx context.Context, req DialRequest) (Bridge, DialResult)
}

// DialRequest is what a Dial tries.
type DialRequest struct {
	Targets  []DialTarget
	Timeout  time.Duration // how long each target may ring
	CallerID string        // the From user of the new leg; "" = the caller's
	RingTone string        // ring-back style while a target rings without early media (media.RingTones)
	// Record, when set, records the bridge (both legs, masked) from the answer — or from the
	// first ring when FromRinging.
	Record      bool
	RecordDual  bool
	FromRinging bool
}

// DialTarget is one leg to try.
type DialTarget struct {
	URI      string // sip: or sips:
	Username string // digest credentials (401/407)
	Password string
	Agent    string // who answers there; "" = the URI's user
}

// DialResult is how a Dial went.
type DialResult struct {
	Status    string // callplan.DialAnswered, DialBusy, …
	Target    int    // index of the target that answered, or of the last one tried
	SIPStatus int    // the final SIP status of the last target tried (200 when answered)
	Agent     string // who answered (DialTarget.Agent, or the URI's user)
	Reason    string // why it failed, for the log (never card data)
	Attempts  []DialAttempt
}

// DialAttempt is how one target went.
type DialAttempt struct {
	URI       string
	Status    string // callplan.DialAnswered, …
	SIPStatus int
	Agent     string
}

// Capture is what the bridge lets through from the caller to the far leg while a payment is
// taken (media.CaptureMode).
type Capture int

const (
	// CaptureOff: the caller is relayed as is; their keys are regenerated towards the far leg.
	CaptureOff Capture = iota
	// CaptureMasked: a payment is open: tones are removed from the caller's audio (speech
	// passes), keys are not forwarded, and the far leg hears a neutral beep per key.
	CaptureMasked
	// CaptureSecure: a field is being taken: the far leg hears only fill and the beeps.
	CaptureSecure
)

// Bridge is a call bridged to a second leg.
type Bridge interface {
	// Done is closed when the bridged leg has ended (it hung up, or Hangup ended it).
	Done() <-chan struct{}
	// Hangup ends the bridged leg (BYE); the caller stays on the line.
	Hangup(ctx context.Context) error
	// SetCapture sets what reaches the far leg from the caller; pauseRecording leaves the
	// bridge's recording paused while it is other than CaptureOff.
	SetCapture(c Capture, pauseRecording bool)
	// SendDigits keys digits towards the far leg (regenerated RFC 4733, or tones), each held
	// for a phone's typical press, and returns once they have been sent.
	SendDigits(ctx context.Context, digits string) error
	// Stats reports the bridge's audio figures.
	Stats() BridgeStats
}

// BridgeStats are what the caller→far-leg direction of a bridge measured.
type BridgeStats struct {
	Frames        int64         // frames due towards the far leg
	FramesSkipped int64         // frames due while the caller was sending that had nothing to play
	MaxDelay      time.Duration // the most any relayed sample waited (jitter buffer + masker)
}
