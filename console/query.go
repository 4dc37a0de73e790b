package console

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/store"
)

// List endpoints take filters as query parameters. Every parameter is checked: an unknown
// name, a malformed time or an out-of-range limit is a 400 with a message naming it, never a
// silently ignored filter.
//
//	limit   1–500 (default 50)
//	cursor  next_cursor of the previous page
//	since   RFC 3339 time or Unix seconds; rows at or after it
//	until   RFC 3339 time or Unix seconds; rows before it

// parseCallFilter reads ?state=&from=&to=&number=&plan=&node=&result=&reference=&pay_result=
// &error_type=&card_type=&last4=&since=&until=&limit=&cursor=.
func parseCallFilter(q url.Values) (store.CallFilter, error) {
	var f store.CallFilter
	p := params{q: q}
	f.State = p.enum("state", "ringing", "answered", "ended", "active")
	f.From = p.text("from")
	f.To = p.text("to")
	f.Number = p.text("number")
	f.Plan = p.text("plan")
	f.Node = p.text("node")
	f.Result = p.text("result")
	f.Reference = p.text("reference")
	f.PayResult = p.text("pay_result")
	f.ErrorType = p.text("error_type")
	f.CardType = p.text("card_type")
	f.Last4 = p.last4()
	f.Since = p.time("since")
	f.Until = p.time("until")
	f.Limit = p.limit()
	f.Cursor = p.cursor()
	return f, p.done()
}

// parsePaymentFilter reads ?call_id=&connector=&state=&result=&channel=&reference=&error_type=
// &card_type=&last4=&number=&plan=&node=&since=&until=&limit=&cursor=.
func parsePaymentFilter(q url.Values) (store.PaymentFilter, error) {
	var f store.PaymentFilter
	p := params{q: q}
	f.CallID = p.text("call_id")
	f.Node = p.text("node")
	f.Connector = p.text("connector")
	f.State = p.text("state")
	f.Result = p.text("result")
	f.Channel = p.enum("channel", "voice", "link")
	f.Reference = p.text("reference")
	f.ErrorType = p.text("error_type")
	f.CardType = p.text("card_type")
	f.Last4 = p.last4()
	f.Number = p.text("number")
	f.Plan = p.text("plan")
	f.Node = p.text("node")
	f.Since = p.time("since")
	f.Until = p.time("until")
	f.Limit = p.limit()
	f.Cursor = p.cursor()
	return f, p.done()
}

// parseLinkFilter reads ?session_id=&call_id=&number=&reference=&state=&plan=&node=&since=
// &until=&limit=&cursor=.
func parseLinkFilter(q url.Values, now time.Time) (store.LinkFilter, error) {
	var f store.LinkFilter
	p := params{q: q}
	f.SessionID = p.text("session_id")
	f.CallID = p.text("call_id")
	f.Number = p.text("number")
	f.Reference = p.text("reference")
	f.State = p.enum("state", store.LinkActive, store.LinkClaimed, store.LinkUsed, store.LinkFailed, "expired")
	f.Plan = p.text("plan")
	f.Node = p.text("node")
	f.Since = p.time("since")
	f.Until = p.time("until")
	f.Now = now
	f.Limit = p.limit()
	f.Cursor = p.cursor()
	return f, p.done()
}

// parseSMSFilter reads ?to=&number=&call_id=&status=&text=&since=&until=&limit=&cursor=.
func parseSMSFilter(q url.Values) (store.SMSFilter, error) {
	var f store.SMSFilter
	p := params{q: q}
	f.To = p.text("to")
	f.Number = p.text("number")
	f.CallID = p.text("call_id")
	f.Status = p.enum("status", store.SMSQueued, store.SMSSent, store.SMSFailed, store.SMSNotSent)
	f.Text = p.text("text")
	f.Since = p.time("since")
	f.Until = p.time("until")
	f.Limit = p.limit()
	f.Cursor = p.cursor()
	return f, p.done()
}

// params consumes query parameters one by one and remembers the first error.
type params struct {
	q    url.Values
	used []string
	err  error
}

const maxParamLen = 256

func (p *params) get(name string) string {
	p.used = append(p.used, name)
	vs, ok := p.q[name]
	if !ok || p.err != nil {
		return ""
	}
	if len(vs) > 1 {
		p.fail(name, "given more than once")
		return ""
	}
	if len(vs[0]) > maxParamLen {
		p.fail(name, fmt.Sprintf("longer than %d characters", maxParamLen))
		return ""
	}
	return vs[0]
}

func (p *params) fail(name, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s: %s", ErrBadFilter, name, why)
	}
}

func (p *params) text(name string) string {
	v := p.get(name)
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			p.fail(name, "control characters are not allowed")
			return ""
		}
	}
	return v
}

func (p *params) enum(name string, allowed ...string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
	return ""
}

func (p *params) time(name string) time.Time {
	v := p.get(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		if t.Year() < 1970 || t.Year() > 9999 {
			p.fail(name, "out of range")
			return time.Time{}
		}
		return t.UTC()
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 253402300799 {
		p.fail(name, "want an RFC 3339 time (2026-11-22T10:00:00Z) or Unix seconds")
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func (p *params) limit() int {
	v := p.get("limit")
	if v == "" {
		return store.DefaultLimit
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxLimit {
		p.fail("limit", fmt.Sprintf("want a number from 1 to %d", store.MaxLimit))
		return 0
	}
	return n
}

// last4 reads the last four digits of a card: exactly four digits, nothing else (a longer
// run is more likely a card number pasted into the wrong box, and is not echoed).
func (p *params) last4() string {
	v := p.get("last4")
	if v == "" {
		return ""
	}
	if len(v) != 4 || strings.Trim(v, "0123456789") != "" {
		p.fail("last4", "want exactly the last 4 digits of the card")
		return ""
	}
	return v
}

func (p *params) cursor() string {
	v := p.get("cursor")
	if err := store.ValidCursor(v); err != nil {
		p.fail("cursor", "not a cursor from this API (use next_cursor as given)")
		return ""
	}
	return v
}

// done reports the first error, or an unknown parameter.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.q {
		known := false
		for _, u := range p.used {
			if k == u {
				known = true
				break
			}
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		allowed := append([]string(nil), p.used...)
		sort.Strings(allowed)
		return fmt.Errorf("%w: unknown parameter %q (allowed: %s)", ErrBadFilter, unknown[0], strings.Join(allowed, ", "))
	}
	return nil
}
