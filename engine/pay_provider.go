package engine

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// The provider's own capture line (a session connector with capture="provider"): the real
// Vonage VCC / PCI Pal flow. paybridge never takes the card: it bridges the caller to the
// session's dtmfFallbackNumber, keys the session's dtmfLinkId towards it so the line finds
// the session, and lets the caller key the card to the provider (the bridge regenerates the
// keys on the provider's leg, keeps none, and the call's own recording holds only fill
// meanwhile). The session's status says how it went; the Pay.* results are the same as for a
// capture paybridge takes itself.

// Timings of a capture on the provider's line.
const (
	providerLineRing    = 30 * time.Second // how long the line may ring
	providerCaptureWait = 5 * time.Minute  // the longest the caller may spend on the line
	providerPoll        = time.Second      // how often the session's status is asked
	providerSettle      = 10 * time.Second // after the line hangs up: how long its outcome may take to show
)

func (r *run) payOnProviderLine(ctx context.Context, s *callplan.PayStep, p *payCapture, conn payment.Connector, sess *payment.Session) (payOutcome, error) {
	fail := func(msg string) (payOutcome, error) {
		r.log.Warn("Pay: provider capture line", "pos", s.Pos.String(), "err", msg)
		return payOutcome{result: callplan.PayResultConnectorError, connectorError: pan.Redact(msg)}, nil
	}
	if sess == nil || sess.FallbackURI == "" || sess.LinkID == "" {
		return fail("the provider's session names no capture line (dtmfFallbackNumber and dtmfLinkId)")
	}
	// The caller's keys go to the provider now: the call's own recording keeps only fill.
	r.ch.Secure(true)
	defer r.ch.Secure(false)
	br, res := r.dial(ctx, "Pay", DialRequest{Targets: []DialTarget{{URI: sess.FallbackURI, Agent: "provider"}},
		Timeout: providerLineRing, RingTone: "us"})
	switch res.Status {
	case callplan.DialAnswered:
	case callplan.DialCallerHungUp:
		return payOutcome{result: callplan.PayResultHungUp}, r.callerGone()
	default:
		return fail("the capture line " + res.Status)
	}
	r.emit("Pay", &event.Bridged{Target: sess.FallbackURI, Agent: "provider"})
	started := r.clock.Now()
	r.bridgeDone = br.Done()
	by := "paybridge"
	defer func() {
		r.bridgeDone = nil
		if by != "agent" {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = br.Hangup(hctx)
			cancel()
		}
		st := br.Stats()
		r.emit("Pay", &event.Unbridged{By: by, DurationMS: r.clock.Now().Sub(started).Milliseconds(),
			FramesSkipped: st.FramesSkipped, MaxDelayMS: st.MaxDelay.Milliseconds()})
	}()
	if err := br.SendDigits(ctx, sess.LinkID); err != nil {
		return fail("keying the link id towards the capture line: " + err.Error())
	}

	deadline := r.clock.Now().Add(providerCaptureWait)
	var lineEnded time.Time
	for {
		ev := r.wait(ctx, r.clock.After(providerPoll), nil)
		switch ev.kind {
		case wDigit:
			// the key went to the provider (the bridge forwards it); paybridge keeps nothing
		case wBridgeEnd:
			by = "agent" // the line hung up
			r.bridgeDone = nil
			lineEnded = r.clock.Now()
		case wHangup:
			by = "caller"
			return payOutcome{result: callplan.PayResultHungUp}, r.callerGone()
		case wCancel:
			return payOutcome{result: callplan.PayResultInternalError}, &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		case wTimer:
			sctx, cancel := context.WithTimeout(ctx, maxConnectorWait)
			st, err := conn.StartSession(sctx, &payment.SessionRequest{CallID: r.callID, SessionID: p.sessionID})
			cancel()
			if err != nil {
				r.log.Warn("Pay: session status", "pos", s.Pos.String(), "err", err)
			} else if out, final := providerOutcome(p, st); final {
				return out, nil
			}
			now := r.clock.Now()
			switch {
			case !lineEnded.IsZero() && now.Sub(lineEnded) >= providerSettle:
				code := "capture-incomplete"
				if st != nil && st.ErrorCode != "" {
					code = st.ErrorCode
				}
				return payOutcome{result: callplan.PayResultConnectorError, connectorError: pan.Redact(code), errorCode: pan.Redact(code)}, nil
			case !now.Before(deadline):
				return fail("the provider's capture took longer than " + providerCaptureWait.String())
			}
		}
	}
}

// providerOutcome maps a session's state to the Pay result once it is final.
func providerOutcome(p *payCapture, st *payment.Session) (payOutcome, bool) {
	if st == nil {
		return payOutcome{}, false
	}
	if st.MaskedCard != "" && pan.ValidMask(st.MaskedCard) {
		p.masked = st.MaskedCard
	}
	if pan.KnownBrand(st.CardType) {
		p.brand = st.CardType
	}
	switch st.State {
	case payment.SessionCompleted:
		return payOutcome{result: callplan.PayResultSuccess, confirmation: pan.Redact(st.TransactionID), token: pan.Redact(st.Token), sessionID: st.ID}, true
	case payment.SessionFailed, payment.SessionExpired:
		code := st.ErrorCode
		if code == "" {
			code = "session_" + st.State
		}
		return payOutcome{result: callplan.PayResultConnectorError, connectorError: pan.Redact(code), errorCode: pan.Redact(code), sessionID: st.ID}, true
	}
	return payOutcome{}, false
}
