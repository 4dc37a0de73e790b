package engine

import "context"

// Playback is a prompt a live channel has started (PromptStarter, PCMStarter): it plays on
// while the run waits for keys, and the run watches its end beside them.
type Playback interface {
	// Done is closed when the prompt has played out, was stopped, or the call ended.
	Done() <-chan struct{}
	// Stop ends the prompt if it still plays and lets go of it; the run calls it exactly once
	// per playback, at its end or on a key. It returns ErrHangup when the call has ended,
	// else nil.
	Stop() error
}

// PromptStarter is implemented by live channels that can start a prompt and return at once
// (ivr.Call, and serve's channel over it). The run then needs no goroutine per prompt: with
// Play alone a helper goroutine blocks in Play while the run watches keys, which costs the
// goroutine and two hand-offs a prompt. StartPlay resolves the prompt as Play does; it
// returns ErrHangup when the call has ended and any other error for a prompt that cannot be
// played (the call goes on without it). A channel that implements it must play the same
// prompt by either method.
type PromptStarter interface {
	StartPlay(prompt string) (Playback, error)
}

// PCMStarter is PCMPlayer's counterpart of PromptStarter: rendered speech started without a
// goroutine waiting for it.
type PCMStarter interface {
	StartPCM(pcm []int16) (Playback, error)
}

// goPlayback runs a blocking Play in a goroutine of its own: the Playback of a channel that
// implements no starter.
type goPlayback struct {
	done   chan struct{}
	cancel context.CancelFunc
	err    error // Play's result, written before done is closed
}

func startGoPlayback(ctx context.Context, play func(context.Context) error) *goPlayback {
	pctx, cancel := context.WithCancel(ctx)
	p := &goPlayback{done: make(chan struct{}), cancel: cancel}
	go func() {
		p.err = play(pctx)
		close(p.done)
	}()
	return p
}

func (p *goPlayback) Done() <-chan struct{} { return p.done }

// Stop cancels Play and waits for it to return; its error is Play's (ctx.Err() when stopped
// here).
func (p *goPlayback) Stop() error {
	p.cancel()
	<-p.done
	return p.err
}
