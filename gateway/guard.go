package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// GuardConfig is the SMS-pumping guard of payment links. By default a link may be texted only
// to the caller's own number or to a number the plan's own lookups returned (TrustedNumbers /
// WithTrustedNumbers), only within AllowedPrefixes, and at most DailyCap times per number per
// 24 hours.
type GuardConfig struct {
	// AllowedPrefixes are the E.164 prefixes texts may go to (empty = "+44" and "+1").
	AllowedPrefixes []string
	// DailyCap is the most links texted to one number in 24 hours (default 3).
	DailyCap int
	// AllowAnyNumber lifts the "caller's own or looked-up number" rule (prefixes and the cap
	// still apply). For deployments whose plans take the number from a trusted system only.
	AllowAnyNumber bool
	// TrustedNumbers returns numbers the call's plan obtained from its own lookups
	// (ApiInteraction results); the engine or the integrator supplies it.
	TrustedNumbers func(ctx context.Context, callID string) []string
}

type trustedKey struct{}

// WithTrustedNumbers returns a context that marks numbers as returned by the plan's own
// lookups, for the guard of SendPaymentLink.
func WithTrustedNumbers(ctx context.Context, numbers ...string) context.Context {
	prev, _ := ctx.Value(trustedKey{}).([]string)
	return context.WithValue(ctx, trustedKey{}, append(append([]string{}, prev...), numbers...))
}

func (g *GuardConfig) withDefaults() {
	if len(g.AllowedPrefixes) == 0 {
		g.AllowedPrefixes = []string{"+44", "+1"}
	}
	if g.DailyCap == 0 {
		g.DailyCap = 3
	}
}

// normalizeE164 strips spaces, dashes, dots and parentheses; "00" becomes "+".
func normalizeE164(n string) string {
	var b strings.Builder
	for _, c := range strings.TrimSpace(n) {
		switch c {
		case ' ', '-', '.', '(', ')':
			continue
		}
		b.WriteRune(c)
	}
	s := b.String()
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	return s
}

// check applies the guard to a destination; store counts the links already sent.
func (g *GuardConfig) check(ctx context.Context, store LinkStore, to, callerID, callID string, now time.Time) error {
	if !validE164(to) {
		return fmt.Errorf("%w: %q is not an E.164 mobile number", ErrSMSRefused, to)
	}
	okPrefix := false
	for _, p := range g.AllowedPrefixes {
		if strings.HasPrefix(to, p) {
			okPrefix = true
			break
		}
	}
	if !okPrefix {
		return fmt.Errorf("%w: %s is outside the allowed country prefixes", ErrSMSRefused, to)
	}
	if !g.AllowAnyNumber && normalizeE164(callerID) != to {
		trusted := false
		nums, _ := ctx.Value(trustedKey{}).([]string)
		if g.TrustedNumbers != nil {
			nums = append(nums, g.TrustedNumbers(ctx, callID)...)
		}
		for _, n := range nums {
			if normalizeE164(n) == to {
				trusted = true
				break
			}
		}
		if !trusted {
			return fmt.Errorf("%w: %s is neither the caller's number nor one the plan looked up", ErrSMSRefused, to)
		}
	}
	n, err := store.CountLinksTo(ctx, to, now.Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("gateway: counting links: %w", err)
	}
	if n >= g.DailyCap {
		return fmt.Errorf("%w: %s has had %d links in 24h", ErrSMSCap, to, n)
	}
	return nil
}
