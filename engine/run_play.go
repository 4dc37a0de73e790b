package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
)

// playable is one thing play plays: a prompt by name, or speech to render.
type playable struct {
	name string
	say  *callplan.Say
}

// named turns prompt names into playables.
func named(names []string) []playable {
	out := make([]playable, len(names))
	for i, n := range names {
		out[i].name = n
	}
	return out
}

// items expands a plan's prompt list: each name template into the names it yields (a variable
// holding "welcome goodbye" yields both, an empty one none), speech as it is.
func (r *run) items(list []callplan.PromptItem) []playable {
	out := make([]playable, 0, len(list))
	for _, it := range list {
		if it.Say != nil {
			out = append(out, playable{say: it.Say})
			continue
		}
		for _, n := range strings.Fields(r.expand(it.Name)) {
			out = append(out, playable{name: n})
		}
	}
	return out
}

// play plays prompts by name in order (see playItems).
func (r *run) play(ctx context.Context, names []string, bargeIn bool) (interrupted bool, err error) {
	return r.playItems(ctx, named(names), bargeIn)
}

// playItems plays prompts and speech in order. With bargeIn, a key (or a type-ahead key
// already waiting) stops playback at once and stays queued as the first key of the next
// input; without it, keys are queued and playback goes on. A prompt that cannot be played, or
// speech that cannot be rendered, is logged and skipped.
func (r *run) playItems(ctx context.Context, list []playable, bargeIn bool) (interrupted bool, err error) {
	for _, it := range list {
		if bargeIn && len(r.pending) > 0 {
			return true, nil
		}
		label := it.name
		var stop bool
		if it.say != nil {
			audio := r.speak(ctx, it.say)
			if audio == nil {
				continue
			}
			label = "say"
			if _, ok := r.ch.(TimedPlayer); ok {
				stop, err = r.playTimed(ctx, audio.Duration(), bargeIn)
			} else if start, ok := r.pcmStart(ctx, audio.Samples); ok {
				stop, err = r.playLive(ctx, start, "say", bargeIn)
			} else {
				r.log.Warn("Say: this channel cannot play speech", "pos", it.say.Pos.String())
				continue
			}
		} else {
			r.emit("", &event.Played{Prompt: it.name})
			if tp, ok := r.ch.(TimedPlayer); ok {
				dur, derr := tp.PromptDuration(it.name)
				if derr != nil {
					r.promptMissing(it.name, derr)
					continue
				}
				stop, err = r.playTimed(ctx, dur, bargeIn)
			} else {
				stop, err = r.playLive(ctx, r.liveStart(ctx, it.name), it.name, bargeIn)
			}
		}
		if err != nil || stop {
			if stop {
				r.emit("", &event.BargedIn{Prompt: label})
				if n := len(r.frames); n > 0 {
					r.frames[n-1].bargedIn = true
				}
			}
			return stop, err
		}
	}
	return false, nil
}

// playTimed waits dur on the clock (a channel whose playback is simulated).
func (r *run) playTimed(ctx context.Context, dur time.Duration, bargeIn bool) (bool, error) {
	timer := r.clock.After(dur)
	for {
		ev := r.wait(ctx, timer, nil)
		switch ev.kind {
		case wTimer:
			return false, nil
		case wDigit:
			r.pending = append(r.pending, ev.digit)
			if bargeIn {
				return true, nil
			}
		case wCancel:
			return false, &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		default:
			return false, r.callerGone()
		}
	}
}

// playLive starts a prompt (start: the channel's StartPlay or StartPCM, or its Play or
// PlayPCM in a goroutine) and waits for its end, a key, the end of the call or ctx.
func (r *run) playLive(ctx context.Context, start func() (Playback, error), name string, bargeIn bool) (bool, error) {
	pb, err := start()
	if err != nil {
		return false, r.playEnded(ctx, name, err)
	}
	for {
		ev := r.wait(ctx, nil, pb.Done())
		switch ev.kind {
		case wPlay:
			return false, r.playEnded(ctx, name, pb.Stop())
		case wDigit:
			r.pending = append(r.pending, ev.digit)
			if bargeIn {
				pb.Stop()
				return true, nil
			}
		case wCancel:
			pb.Stop()
			return false, &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		default:
			pb.Stop()
			return false, r.callerGone()
		}
	}
}

// playEnded is how a prompt that ended by itself (or never started) with err ends the step:
// the caller gone on ErrHangup, a prompt that could not be played reported, else nothing.
func (r *run) playEnded(ctx context.Context, name string, err error) error {
	switch {
	case errors.Is(err, ErrHangup):
		return r.callerGone()
	case err != nil && ctx.Err() == nil:
		r.promptMissing(name, err)
	}
	return nil
}

// liveStart is how playItems starts a prompt by name on a live channel.
func (r *run) liveStart(ctx context.Context, name string) func() (Playback, error) {
	if ps, ok := r.ch.(PromptStarter); ok {
		return func() (Playback, error) { return ps.StartPlay(name) }
	}
	return func() (Playback, error) {
		return startGoPlayback(ctx, func(pctx context.Context) error { return r.ch.Play(pctx, name) }), nil
	}
}

// pcmStart is how playItems starts rendered speech on a live channel (ok false: it cannot
// play speech).
func (r *run) pcmStart(ctx context.Context, pcm []int16) (start func() (Playback, error), ok bool) {
	if ps, ok := r.ch.(PCMStarter); ok {
		return func() (Playback, error) { return ps.StartPCM(pcm) }, true
	}
	if pp, ok := r.ch.(PCMPlayer); ok {
		return func() (Playback, error) {
			return startGoPlayback(ctx, func(pctx context.Context) error { return pp.PlayPCM(pctx, pcm) }), nil
		}, true
	}
	return nil, false
}

// promptMissing reports a prompt that could not be played; the call goes on without it.
func (r *run) promptMissing(name string, err error) {
	r.log.Warn("prompt unavailable", "prompt", name, "err", err)
	r.emit("", &event.PromptMissing{Prompt: name})
}
