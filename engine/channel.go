package engine

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// Channel is one call as the engine drives it. The ivr package implements it for live SIP
// calls; replay implements it over recorded DTMF on a virtual clock.
//
// The engine owns barge-in: it cancels the context it passed to Play when a digit arrives on
// Digits, and keeps that digit as the first key of the next input.
type Channel interface {
	// Info describes the call (from, to, id, start time) for the Call.* built-ins.
	Info() CallInfo

	// Play plays one prompt by name (resolved against the plan's prompt directory, then the
	// bundled pack) and returns when it has finished (nil), when ctx is cancelled (ctx.Err()),
	// or when the call has ended (ErrHangup).
	Play(ctx context.Context, prompt string) error

	// Digits is the call's merged keypress stream (in-band, RFC 4733 and SIP INFO, each
	// keypress once). It is closed when the call ends.
	Digits() <-chan dtmf.Event

	// Secure turns the secure window on or off. While on, recordings and any forwarded leg
	// carry only the fixed fill, never caller audio. Pay turns it on for the whole capture.
	Secure(on bool)

	// Transfer hands the call to target (a SIP URI or a number).
	Transfer(ctx context.Context, target string) error

	// Hangup ends the call, recording reason as the hang-up cause.
	Hangup(ctx context.Context, reason string) error

	// Done is closed when the far end has hung up or the call was ended.
	Done() <-chan struct{}
}

// CallInfo is what a plan may know about its call.
type CallInfo struct {
	ID        string    // paybridge's call id (also the store's key)
	From      string    // caller's number or URI user
	To        string    // dialled number (Request-URI user)
	StartedAt time.Time // when the INVITE arrived
}

// Clock is the engine's time source: the wall clock for live calls, a virtual clock that
// advances instantly for replay.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}
