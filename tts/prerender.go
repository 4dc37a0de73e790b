package tts

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Prerender renders every request through r — a Cache-wrapped engine, so that the results
// are stored — before they are needed: a plan's static text at load, so that the first caller
// waits for nothing. It renders up to GOMAXPROCS requests at a time and returns the audio in
// the order of reqs; the error joins every failure, each naming its request's index, and the
// audio of the requests that succeeded is still returned.
func Prerender(ctx context.Context, r Renderer, reqs []Request) ([]*Audio, error) {
	out := make([]*Audio, len(reqs))
	errs := make([]error, len(reqs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, err := r.Render(ctx, req)
			if err != nil {
				errs[i] = fmt.Errorf("request %d: %w", i, err)
				return
			}
			out[i] = a
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
