package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The readable timeline: a call's events folded into one line per step — what the step was
// and where in the plan, how it came out and how long it took, what happened inside it (the
// keys of an entry as a count and a time, an HTTP exchange as method, host, status and
// latency, speech as its text) and the variables it set. The console shows it and `paybridge
// replay --timeline` prints it. It holds only what the events hold: no card digit, secrets
// masked by the engine before they were events.

// TimelineLine is one step of a call (or the call's start and end).
type TimelineLine struct {
	At         time.Duration `json:"at_ms"`         // since the call started (JSON: milliseconds)
	Step       string        `json:"step"`          // the element, "" for the call's own lines
	Depth      int           `json:"depth"`         // 0 for a step of <Flow>, 1 inside an If, a Menu's Choice, …
	Pos        string        `json:"pos,omitempty"` // file:line:col in the plan
	Line       int           `json:"line,omitempty"`
	Col        int           `json:"col,omitempty"`
	Outcome    string        `json:"outcome,omitempty"`
	Duration   time.Duration `json:"duration_ms"`
	Details    []string      `json:"details,omitempty"`
	Set        []VarSet      `json:"set,omitempty"`
	InProgress bool          `json:"in_progress,omitempty"` // the step had not ended when the events stop
}

// MarshalJSON writes At and Duration as milliseconds.
func (l TimelineLine) MarshalJSON() ([]byte, error) {
	type plain TimelineLine
	type wire struct {
		plain
		At       int64 `json:"at_ms"`
		Duration int64 `json:"duration_ms"`
	}
	return json.Marshal(wire{plain: plain(l), At: l.At.Milliseconds(), Duration: l.Duration.Milliseconds()})
}

// fieldNames are the Pay fields as a person says them.
var fieldNames = map[string]string{
	"payment-card-number": "card number", "expiration-date": "expiry date",
	"security-code": "security code", "postal-code": "postal code",
}

// Timeline folds events (in the order they happened) into readable lines.
func Timeline(events []Event) []TimelineLine {
	if len(events) == 0 {
		return nil
	}
	start := events[0].Time
	var out []TimelineLine
	var open []int // indexes into out of the steps running, outermost first
	cur := func() *TimelineLine {
		if len(open) == 0 {
			return nil
		}
		return &out[open[len(open)-1]]
	}
	detail := func(format string, a ...any) {
		if l := cur(); l != nil {
			l.Details = append(l.Details, fmt.Sprintf(format, a...))
		}
	}
	// A Pay field's entry: when its first key came.
	var firstKey time.Time
	var lastPlayed *TimelineLine // the line whose last detail is a run of prompts still growing
	for _, e := range events {
		at := e.Time.Sub(start)
		if _, ok := e.Data.(*Played); !ok {
			lastPlayed = nil
		}
		switch d := e.Data.(type) {
		case *CallStarted:
			out = append(out, TimelineLine{At: at, Outcome: "call started", Details: nonEmpty("plan "+d.Plan, d.From, d.To)})
		case *CallEnded:
			for len(open) > 0 { // steps the end of the call cut short
				cur().InProgress = true
				open = open[:len(open)-1]
			}
			out = append(out, TimelineLine{At: at, Outcome: "call ended: " + strings.TrimSuffix(d.Result+": "+d.Reason, ": "),
				Details: []string{fmt.Sprintf("%d steps", d.Steps)}})
		case *StepEntered:
			l := TimelineLine{At: at, Step: e.Step, Depth: len(open), Pos: d.Pos}
			l.Line, l.Col = splitPos(d.Pos)
			out = append(out, l)
			open = append(open, len(out)-1)
		case *StepEnded:
			if l := cur(); l != nil {
				l.Outcome, l.Duration, l.Set = d.Outcome, time.Duration(d.DurationMS)*time.Millisecond, d.Set
				open = open[:len(open)-1]
			}
		case *Played:
			// Prompts played one after another are one detail: "played a, b, c".
			if l := cur(); l != nil && len(l.Details) > 0 && strings.HasPrefix(l.Details[len(l.Details)-1], "played ") && lastPlayed == l {
				l.Details[len(l.Details)-1] = foldPlayed(l.Details[len(l.Details)-1], d.Prompt)
			} else {
				detail("played %s", d.Prompt)
			}
			lastPlayed = cur()
			continue
		case *PromptMissing:
			detail("prompt %s missing", d.Prompt)
		case *BargedIn:
			detail("barged in")
		case *Said:
			if d.Error != "" {
				detail("could not say %q: %s", d.Text, d.Error)
			} else {
				detail("said %q (%s)", d.Text, seconds(time.Duration(d.DurationMS)*time.Millisecond))
			}
		case *Gathered:
			s := fmt.Sprintf("%s: %s", d.Var, digits(d.Digits))
			if d.EntryMS > 0 {
				s += " in " + seconds(time.Duration(d.EntryMS)*time.Millisecond)
			}
			detail("%s (attempt %d, %s)", s, d.Attempt, d.Result)
		case *GatherCardRefused:
			detail("%s: %s looked like a card number and were refused (attempt %d)", d.Var, digits(d.Digits), d.Attempt)
		case *MenuChosen:
			if d.Choice != "" {
				detail("key %s (attempt %d)", d.Choice, d.Attempt)
			} else {
				detail("%s (attempt %d)", d.Result, d.Attempt)
			}
		case *APICalled:
			s := strings.TrimSpace(d.Method + " " + d.Host)
			if d.Status != 0 {
				s += fmt.Sprintf(" → %d in %d ms", d.Status, d.DurationMS)
			} else {
				s += fmt.Sprintf(" → no response after %d ms", d.DurationMS)
			}
			if d.Error != "" {
				s += ": " + d.Error
			}
			detail("%s", s)
		case *ConnectorRequest:
			s := fmt.Sprintf("%s %s", d.Connector, d.Op)
			if d.Status != 0 {
				s += fmt.Sprintf(" → %d in %d ms", d.Status, d.DurationMS)
			} else {
				s += fmt.Sprintf(" → no answer after %d ms", d.DurationMS)
			}
			if d.Error != "" {
				s += ": " + d.Error
			}
			detail("%s", s)
		case *Authorized:
			detail("%s token: %s", d.Connector, d.Result)
		case *PayProgress:
			name := fieldNames[d.For]
			if name == "" {
				name = d.For
			}
			switch d.Phase {
			case "ask":
				firstKey = time.Time{}
			case "key":
				if firstKey.IsZero() {
					firstKey = e.Time
				}
			case "entered":
				s := name + ": " + digits(d.Digits)
				if !firstKey.IsZero() {
					s += " in " + seconds(e.Time.Sub(firstKey))
				}
				switch {
				case d.Interrupted:
					s += ", then *"
				case d.ErrorType != "":
					s += " — " + d.ErrorType
				}
				if d.Attempt > 1 {
					s += fmt.Sprintf(" (attempt %d)", d.Attempt)
				}
				detail("%s", s)
				firstKey = time.Time{}
			}
		case *PayCompleted:
			detail("payment %s", paymentSummary(&d.Payment))
		case *LinkSent:
			detail("link %s texted (session %s)", d.LinkID, d.SessionID)
		case *LinkFailed:
			detail("link not sent: %s", d.Error)
		}
	}
	for _, i := range open {
		out[i].InProgress = true
	}
	return out
}

// String renders a line for a terminal:
//
//	7.34s  L12  Pay            success      9.8 s  card number: 16 digits in 3.1 s · … · set Pay.Result=success, …
func (l TimelineLine) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7.2fs  ", l.At.Seconds())
	if l.Line > 0 {
		fmt.Fprintf(&b, "L%-4d ", l.Line)
	} else {
		b.WriteString("      ")
	}
	name := strings.Repeat("  ", l.Depth) + l.Step
	outcome := l.Outcome
	if l.InProgress {
		outcome = strings.TrimSpace(outcome + " (cut short)")
	}
	dur := ""
	if l.Step != "" {
		dur = seconds(l.Duration)
	}
	fmt.Fprintf(&b, "%-16s %-28s %7s", name, outcome, dur)
	parts := append([]string(nil), l.Details...)
	var vs []string
	for _, v := range l.Set {
		if v.Value != "" { // a step's outputs it left empty say nothing
			vs = append(vs, v.Name+"="+strconv.Quote(v.Value))
		}
	}
	if len(vs) > 0 {
		parts = append(parts, "set "+strings.Join(vs, ", "))
	}
	if len(parts) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(parts, " · "))
	}
	return strings.TrimRight(b.String(), " ")
}

// foldPlayed adds a prompt to a "played a, b" detail; past six it counts them instead:
// "played 19 prompts: letter-c … letter-w".
func foldPlayed(detail, prompt string) string {
	list := strings.TrimPrefix(detail, "played ")
	if n, rest, ok := strings.Cut(list, " prompts: "); ok {
		k, _ := strconv.Atoi(n)
		first, _, _ := strings.Cut(rest, " … ")
		return fmt.Sprintf("played %d prompts: %s … %s", k+1, first, prompt)
	}
	names := strings.Split(list, ", ")
	if len(names) < 6 {
		return detail + ", " + prompt
	}
	return fmt.Sprintf("played %d prompts: %s … %s", len(names)+1, names[0], prompt)
}

func paymentSummary(p *Payment) string {
	parts := []string{p.Result}
	if p.ErrorType != "" {
		parts = append(parts, p.ErrorType)
	}
	if p.ErrorCode != "" {
		parts = append(parts, p.ErrorCode)
	}
	if p.MaskedCard != "" {
		parts = append(parts, p.MaskedCard)
	}
	if p.CardType != "" {
		parts = append(parts, p.CardType)
	}
	if p.Confirmation != "" {
		parts = append(parts, "confirmation "+p.Confirmation)
	}
	return strings.Join(parts, " ")
}

// splitPos reads the line and column of "file:line:col" (the file may hold colons).
func splitPos(pos string) (line, col int) {
	i := strings.LastIndexByte(pos, ':')
	if i < 0 {
		return 0, 0
	}
	j := strings.LastIndexByte(pos[:i], ':')
	if j < 0 {
		return 0, 0
	}
	line, _ = strconv.Atoi(pos[j+1 : i])
	col, _ = strconv.Atoi(pos[i+1:])
	return line, col
}

func digits(n int) string {
	if n == 1 {
		return "1 digit"
	}
	return strconv.Itoa(n) + " digits"
}

// seconds writes a duration as people read it: "4.2 s", "0.35 s", "12 s".
func seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" && s != "plan " {
			out = append(out, s)
		}
	}
	return out
}
