//go:build linux && (amd64 || arm64)

package media

import "time"

// rxBenchClock reads the clock for the datagrams BenchmarkRxRound hands over next, as a round
// does after each io_uring_enter.
func rxBenchClock(u *uringRx) { u.now = time.Now() }

// uringRxProbe is the process's io_uring receiver's thread id and its round counter; nil
// when the process receives on epoll.
func uringRxProbe() (tid int, rounds func() int64) {
	u := sharedURx.u
	if u == nil {
		return 0, nil
	}
	return u.tid, u.rounds.Load
}
