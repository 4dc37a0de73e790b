package gateway

import "time"

// The sandbox keeps everything in memory; a long-running demo or load test must not grow it
// without bound. Like Stripe, it forgets idempotency keys after a day.
const (
	sandboxRetention = 24 * time.Hour
	sandboxMaxLedger = 200_000 // charges kept for GET /ledger (the oldest half is dropped beyond)
	sandboxSweepOps  = 1024    // sweep once per this many writes
)

// sweepLocked drops what the sandbox no longer needs; the caller holds s.mu.
func (s *Sandbox) sweepLocked() {
	s.ops++
	if s.ops%s.sweepEvery != 0 {
		return
	}
	now := s.now()
	for k, r := range s.idem {
		if now.Sub(r.at) > sandboxRetention {
			delete(s.idem, k)
		}
	}
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	for k, t := range s.cardToks {
		if now.Sub(t.Created) > sandboxRetention {
			delete(s.cardToks, k)
		}
	}
	for k, se := range s.sessions {
		if now.Sub(se.Expires) > sandboxRetention {
			delete(s.sessions, k)
		}
	}
	if len(s.charges) > sandboxMaxLedger {
		s.charges = append([]*SandboxCharge(nil), s.charges[len(s.charges)-sandboxMaxLedger/2:]...)
	}
	if len(s.stripeCharges) > sandboxMaxLedger {
		s.stripeCharges = append([]*sbStripeCharge(nil), s.stripeCharges[len(s.stripeCharges)-sandboxMaxLedger/2:]...)
	}
	if len(s.messages) > sandboxMaxLedger {
		s.messages = append([]SandboxMessage(nil), s.messages[len(s.messages)-sandboxMaxLedger/2:]...)
	}
}
