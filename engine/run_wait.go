package engine

import (
	"context"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// Waiting: the one place the engine blocks (keys, timers, playback, hang-up, and while the call
// is bridged: the end of the bridged leg and the agent's commands).

type waitKind int

const (
	wDigit waitKind = iota
	wTimer
	wPlay
	wHangup
	wCancel
	wBridgeEnd // the bridged leg ended (r.bridgeDone)
	wCommand   // an agent's command arrived (r.commands)
)

type waitEvent struct {
	kind  waitKind
	digit dtmf.Digit
	err   error
	cmd   *deskRequest
}

// wait blocks until a key arrives, timer fires, play finishes, the call ends, the bridged leg
// ends, an agent's command arrives or ctx is cancelled, preferring them in that order when
// several are ready. (The last two only while the call is bridged: otherwise their channels
// are nil.) On a virtual clock it
// makes time pass (Step) whenever nothing is ready, so a replay never sleeps — except while a
// live prompt plays (play: closed at its end), whose end the clock cannot see.
func (r *run) wait(ctx context.Context, timer <-chan time.Time, play <-chan struct{}) waitEvent {
	for {
		if ev, ok := r.poll(ctx, timer, play); ok {
			return ev
		}
		if r.stepper == nil || play != nil || !r.stepper.Step() {
			break
		}
	}
	select {
	case d, ok := <-r.digits:
		return r.gotDigit(ctx, d, ok, timer, play)
	case <-play:
		return waitEvent{kind: wPlay}
	case <-timer:
		return waitEvent{kind: wTimer}
	case <-r.done:
		return waitEvent{kind: wHangup}
	case <-r.bridgeDone:
		return waitEvent{kind: wBridgeEnd}
	case c := <-r.commands:
		return waitEvent{kind: wCommand, cmd: c}
	case <-ctx.Done():
		return waitEvent{kind: wCancel, err: ctx.Err()}
	}
}

func (r *run) poll(ctx context.Context, timer <-chan time.Time, play <-chan struct{}) (waitEvent, bool) {
	select {
	case d, ok := <-r.digits:
		return r.gotDigit(ctx, d, ok, timer, play), true
	default:
	}
	select {
	case <-play:
		return waitEvent{kind: wPlay}, true
	default:
	}
	select {
	case <-timer:
		return waitEvent{kind: wTimer}, true
	default:
	}
	select {
	case <-r.done:
		return waitEvent{kind: wHangup}, true
	default:
	}
	select {
	case <-r.bridgeDone:
		return waitEvent{kind: wBridgeEnd}, true
	default:
	}
	select {
	case c := <-r.commands:
		return waitEvent{kind: wCommand, cmd: c}, true
	default:
	}
	select {
	case <-ctx.Done():
		return waitEvent{kind: wCancel, err: ctx.Err()}, true
	default:
	}
	return waitEvent{}, false
}

func (r *run) gotDigit(ctx context.Context, e dtmf.Event, ok bool, timer <-chan time.Time, play <-chan struct{}) waitEvent {
	if !ok {
		r.digits = nil // closed: the call has ended
		return waitEvent{kind: wHangup}
	}
	if !e.Digit.Valid() || r.isHabit(e.Digit) {
		return r.wait(ctx, timer, play)
	}
	return waitEvent{kind: wDigit, digit: e.Digit}
}

// expectHabit says that an entry just completed by itself (Gather at maxDigits, a Pay field at
// its full length): if the very next key is key (the finish key the prompt asked for) and it
// comes within window, it is habit, not input, and is dropped — so "12345678#" at an
// eight-digit prompt does not leave a '#' for the next step.
func (r *run) expectHabit(key byte, window time.Duration) {
	if len(r.pending) > 0 {
		if r.pending[0].Char() == key {
			r.pending = r.pending[1:]
		}
		return
	}
	r.habitKey, r.habitUntil = key, r.clock.Now().Add(window)
}

// isHabit reports (once) whether d is the expected habit key.
func (r *run) isHabit(d dtmf.Digit) bool {
	if r.habitKey == 0 {
		return false
	}
	k := r.habitKey
	r.habitKey = 0
	return d.Char() == k && !r.clock.Now().After(r.habitUntil)
}

// nextKey returns the next key within timeout: a type-ahead key at once, else the first to
// arrive. ok is false on timeout; err is the end of the call.
func (r *run) nextKey(ctx context.Context, timeout time.Duration) (d dtmf.Digit, ok bool, err error) {
	if len(r.pending) > 0 {
		d = r.pending[0]
		r.pending[0] = 0 // a queued key may be card data: leave no copy behind
		r.pending = r.pending[1:]
		return d, true, nil
	}
	ev := r.wait(ctx, r.keyTimeout(timeout), nil)
	switch ev.kind {
	case wDigit:
		return ev.digit, true, nil
	case wTimer:
		return 0, false, nil
	case wCancel:
		return 0, false, &endSignal{ResultError, "cancelled: " + ev.err.Error()}
	}
	return 0, false, r.callerGone()
}

// keyTimeout is nextKey's timer: a channel that receives once d has passed. On the wall clock
// one timer serves every key of the run, re-armed here (Reset discards a fire nobody read): a
// timer and its channel allocated per key were a live call's largest allocation (~8 KB a call
// of Pay). A virtual clock gets a timer per key as before, so a replay's timeline is unchanged.
func (r *run) keyTimeout(d time.Duration) <-chan time.Time {
	if _, wall := r.clock.(WallClock); !wall {
		return r.clock.After(d)
	}
	if r.keyTimer == nil {
		r.keyTimer = time.NewTimer(d)
	} else {
		r.keyTimer.Reset(d)
	}
	return r.keyTimer.C
}

// sleep waits d, keeping any key pressed meanwhile as type-ahead.
func (r *run) sleep(ctx context.Context, d time.Duration) error {
	timer := r.clock.After(d)
	for {
		ev := r.wait(ctx, timer, nil)
		switch ev.kind {
		case wTimer:
			return nil
		case wDigit:
			r.pending = append(r.pending, ev.digit)
		case wCancel:
			return &endSignal{ResultError, "cancelled: " + ev.err.Error()}
		default:
			return r.callerGone()
		}
	}
}
