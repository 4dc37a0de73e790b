package engine

import (
	"context"
	"errors"

	"github.com/paybridge/paybridge/event"
)

// play plays names in order. With bargeIn, a key (or a type-ahead key already waiting) stops
// playback at once and stays queued as the first key of the next input; without it, keys are
// queued and playback goes on. A prompt that cannot be played is logged and skipped.
func (r *run) play(ctx context.Context, names []string, bargeIn bool) (interrupted bool, err error) {
	for _, name := range names {
		if bargeIn && len(r.pending) > 0 {
			return true, nil
		}
		r.emit("", &event.Played{Prompt: name})
		var stop bool
		if tp, ok := r.ch.(TimedPlayer); ok {
			stop, err = r.playTimed(ctx, tp, name, bargeIn)
		} else {
			stop, err = r.playLive(ctx, name, bargeIn)
		}
		if err != nil || stop {
			if stop {
				r.emit("", &event.BargedIn{Prompt: name})
			}
			return stop, err
		}
	}
	return false, nil
}

func (r *run) playTimed(ctx context.Context, tp TimedPlayer, name string, bargeIn bool) (bool, error) {
	dur, err := tp.PromptDuration(name)
	if err != nil {
		r.promptMissing(name, err)
		return false, nil
	}
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

func (r *run) playLive(ctx context.Context, name string, bargeIn bool) (bool, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.ch.Play(pctx, name) }()
	for {
		ev := r.wait(ctx, nil, done)
		switch ev.kind {
		case wPlay:
			switch {
			case errors.Is(ev.err, ErrHangup):
				return false, r.callerGone()
			case ev.err != nil && ctx.Err() == nil:
				r.promptMissing(name, ev.err)
			}
			return false, nil
		case wDigit:
			r.pending = append(r.pending, ev.digit)
			if bargeIn {
				cancel()
				<-done
				return true, nil
			}
		case wCancel:
			cancel()
			<-done
			return false, &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		default:
			cancel()
			<-done
			return false, r.callerGone()
		}
	}
}

// promptMissing reports a prompt that could not be played; the call goes on without it.
func (r *run) promptMissing(name string, err error) {
	r.log.Warn("prompt unavailable", "prompt", name, "err", err)
	r.emit("", &event.PromptMissing{Prompt: name})
}
