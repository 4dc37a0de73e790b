package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// GuardConfig is the SMS-pumping guard of payment links. By default a link may be texted only
// to the caller's own number (LinkRequest.CallerID) or to a number the plan's own lookups
// returned (LinkRequest.TrustedNumbers), only within AllowedPrefixes, and at most DailyCap
// times per number per 24 hours.
type GuardConfig struct {
	// AllowedPrefixes are the E.164 prefixes texts may go to (empty = "+44" and "+1").
	AllowedPrefixes []string
	// DailyCap is the most links texted to one number in 24 hours (default 3).
	DailyCap int
	// AllowAnyNumber lifts the "caller's own or looked-up number" rule (prefixes and the cap
	// still apply). For deployments whose plans take the number from a trusted system only.
	AllowAnyNumber bool
}

func (g *GuardConfig) withDefaults() {
	if len(g.AllowedPrefixes) == 0 {
		g.AllowedPrefixes = []string{"+44", "+1"}
	}
	if g.DailyCap == 0 {
		g.DailyCap = 3
	}
}

// isE164 reports whether n is "+" and 8–15 digits, the first not zero.
func isE164(n string) bool {
	return len(n) >= 9 && len(n) <= 16 && n[0] == '+' && n[1] != '0' && allDigits(n[1:])
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

// check applies the guard to the destination to of req; store counts the links already sent.
func (g *GuardConfig) check(ctx context.Context, store LinkStore, to string, req *payment.LinkRequest, now time.Time) error {
	if !isE164(to) {
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
	if !g.AllowAnyNumber && normalizeE164(req.CallerID) != to && !slices.ContainsFunc(req.TrustedNumbers,
		func(n string) bool { return normalizeE164(n) == to }) {
		return fmt.Errorf("%w: %s is neither the caller's number nor one the plan looked up", ErrSMSRefused, to)
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
