package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/tts"
)

// Renderer is what the engine needs of text to speech (RunOptions.Speech): tts.Cache's
// Wrap of an engine in serve and replay, a tts.RenderFunc in tests.
type Renderer interface {
	Render(ctx context.Context, req tts.Request) (*tts.Audio, error)
}

// PCMPlayer is implemented by live channels that can play rendered speech: 8 kHz mono PCM,
// with Play's contract (returns when played, ctx.Err() when cancelled, ErrHangup when the
// call has ended). ivr.Call has it.
type PCMPlayer interface {
	PlayPCM(ctx context.Context, pcm []int16) error
}

// maxRenderWait bounds one render during a call: a stuck speech service must not hold the
// caller on silence for long (the call goes on without the speech).
const maxRenderWait = 5 * time.Second

// maxSaidText clips the text an event reports.
const maxSaidText = 200

// SpeechRequest is the tts request a Say makes with its parts as given (expanded or not): the
// Say's language, else the plan's <Prompts lang>, else tts's default (en-GB).
func SpeechRequest(plan *callplan.Plan, say *callplan.Say, parts []callplan.SayPart) tts.Request {
	req := tts.Request{Voice: say.Voice, Language: say.Language, Rate: say.Rate}
	if req.Language == "" && plan != nil && plan.Prompts != nil {
		req.Language = plan.Prompts.Lang
	}
	for _, p := range parts {
		req.Segments = append(req.Segments, speechSegment(p))
	}
	return req
}

func speechSegment(p callplan.SayPart) tts.Segment {
	switch p.As {
	case callplan.SayAsBreak:
		return tts.Segment{SayAs: tts.SayBreak, Pause: p.Pause}
	case "":
		return tts.Segment{Text: p.Text}
	}
	return tts.Segment{SayAs: tts.SayAs(p.As), Text: p.Text, Currency: p.Currency, Format: p.Format}
}

// CheckSpeech checks every <Say> of plan as the tts package will render it — its language
// (or the plan's), voice and rate, and each say-as whose text is literal (a 31st of
// February, an unknown currency, letters among digits) — and returns an error at the
// element's file:line:col for each problem (code "bad-say"). A say-as holding $(…) is checked
// when it is said; if tts cannot say the expanded value, the call goes on without the
// speech and the event says why. Validate and serve run it beside callplan's checks.
func CheckSpeech(plan *callplan.Plan) callplan.Diagnostics {
	var ds callplan.Diagnostics
	bad := func(pos callplan.Pos, err error) {
		ds = append(ds, callplan.Diagnostic{Pos: pos, Severity: callplan.SeverityError, Code: "bad-say",
			Message: pan.Redact(speechErrText(err)), Err: callplan.ErrInvalidPlan})
	}
	for _, ref := range callplan.Says(plan) {
		say := ref.Say
		probe := SpeechRequest(plan, say, []callplan.SayPart{{Text: "a"}})
		if _, err := probe.Normalize(); err != nil {
			if say.Language == "" && plan.Prompts != nil && plan.Prompts.Lang != "" && errors.Is(err, tts.ErrLanguage) {
				err = fmt.Errorf("%w (the plan's <Prompts lang>): give the <Say> a language", err)
			}
			bad(say.Pos, err)
			continue
		}
		for _, p := range say.Parts {
			if p.As == "" || p.As == callplan.SayAsBreak || strings.Contains(p.Text, "$(") {
				continue
			}
			req := SpeechRequest(plan, say, []callplan.SayPart{p})
			if _, err := req.Normalize(); err != nil {
				bad(p.Pos, fmt.Errorf("say-as %s: %s", p.As, speechErrText(err)))
			}
		}
	}
	ds.Sort()
	return ds
}

// speechErrText is a tts error as a plan author reads it: a say-as error is what was wrong
// with the value ("'a' is not a digit, '*', '#' or '+'"), others keep their kind
// ("unsupported language: …") without the package's prefix.
func speechErrText(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, tts.ErrSayAs.Error()+": "); ok {
		return rest
	}
	for _, s := range []error{tts.ErrLanguage, tts.ErrRequest, tts.ErrVoice, tts.ErrEngine} {
		if _, rest, ok := strings.Cut(msg, s.Error()+": "); ok {
			return strings.TrimPrefix(s.Error(), "tts: ") + ": " + rest
		}
	}
	return strings.TrimPrefix(msg, "tts: ")
}

// PrerenderSpeech renders every <Say> of plan that has no $(…) through r — a tts.Cache, so
// that calls find the audio there — and returns how many it rendered. Serve runs it when a
// plan loads: the first caller waits for nothing.
func PrerenderSpeech(ctx context.Context, plan *callplan.Plan, r Renderer) (int, error) {
	var reqs []tts.Request
	seen := map[string]bool{}
	for _, ref := range callplan.Says(plan) {
		if !ref.Say.Static() {
			continue
		}
		req := SpeechRequest(plan, ref.Say, ref.Say.Parts)
		k := req.Key("")
		if seen[k] {
			continue
		}
		seen[k] = true
		reqs = append(reqs, req)
	}
	_, err := tts.Prerender(ctx, r, reqs)
	return len(reqs), err
}

// speak renders a Say after expanding its $(…) and reports it (event.Said). A nil audio means
// nothing is to be played (no renderer, or the render failed: the call goes on).
func (r *run) speak(ctx context.Context, say *callplan.Say) *tts.Audio {
	parts := say.Expand(r.lookup)
	req := SpeechRequest(r.plan, say, parts)
	text := strings.TrimSpace(say.String())
	if strings.Contains(text, "$(") || len(parts) > 1 {
		text = saidText(parts)
	}
	if len(text) > maxSaidText {
		text = text[:maxSaidText] + "…"
	}
	ev := &event.Said{Text: pan.Redact(text), Language: req.Language, Voice: req.Voice}
	if r.opts.Speech == nil {
		ev.Error = "no text-to-speech engine configured"
		r.log.Warn("Say: no text-to-speech engine configured", "pos", say.Pos.String())
		r.emit("", ev)
		return nil
	}
	started := time.Now()
	rctx, cancel := context.WithTimeout(ctx, maxRenderWait)
	audio, err := r.opts.Speech.Render(rctx, req)
	cancel()
	ev.RenderMS = time.Since(started).Milliseconds()
	if err != nil {
		ev.Error = pan.Redact(speechErrText(err))
		r.log.Warn("Say: cannot render", "pos", say.Pos.String(), "err", ev.Error)
		r.emit("", ev)
		return nil
	}
	ev.DurationMS = audio.Duration().Milliseconds()
	r.emit("", ev)
	return audio
}

// saidText joins a Say's parts as people write them: a space between parts except before
// punctuation, a break as "…".
func saidText(parts []callplan.SayPart) string {
	var b strings.Builder
	for _, p := range parts {
		t := p.Text
		if p.As == callplan.SayAsBreak {
			t = "…"
		}
		if t == "" {
			continue
		}
		if b.Len() > 0 && !strings.ContainsAny(t[:1], ".,;:!?") {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

// stepSay speaks a <Say>, Loop times (0 = until a key), with Play's barge-in rule.
func (r *run) stepSay(ctx context.Context, s *callplan.SayStep, next callplan.Step) error {
	loops := s.Loop
	if loops == 0 {
		loops = maxPlayLoops
	}
	barge := bargeInFor(s.BargeIn, next)
	items := []playable{{say: s.Say}}
	for range loops {
		stop, err := r.playItems(ctx, items, barge)
		if err != nil || stop {
			return err
		}
	}
	return nil
}
