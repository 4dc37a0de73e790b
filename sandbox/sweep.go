package sandbox

import "time"

// The sandbox keeps everything in memory; a long-running demo or load test must not grow it
// without bound. Like Stripe, it forgets idempotency keys after a day.
const (
	retention = 24 * time.Hour
	maxLedger = 200_000 // charges kept for GET /ledger (the oldest half is dropped beyond)
	sweepOps  = 1024    // sweep once per this many writes
)

// sweepLocked drops what the sandbox no longer needs; the caller holds s.mu.
func (s *Provider) sweepLocked() {
	s.ops++
	if s.ops%s.sweepEvery != 0 {
		return
	}
	now := s.now()
	for k, r := range s.idem {
		if now.Sub(r.at) > retention {
			delete(s.idem, k)
		}
	}
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	for k, t := range s.cardToks {
		if now.Sub(t.Created) > retention {
			delete(s.cardToks, k)
		}
	}
	for k, se := range s.sessions {
		if now.Sub(se.Expires) > retention {
			delete(s.sessions, k)
		}
	}
	if len(s.charges) > maxLedger {
		s.charges = append([]*Charge(nil), s.charges[len(s.charges)-maxLedger/2:]...)
	}
	if len(s.stripeCharges) > maxLedger {
		s.stripeCharges = append([]*chargeObject(nil), s.stripeCharges[len(s.stripeCharges)-maxLedger/2:]...)
	}
	if len(s.messages) > maxLedger {
		s.messages = append([]Message(nil), s.messages[len(s.messages)-maxLedger/2:]...)
	}
}
