//go:build linux && (amd64 || arm64)

package media

import "time"

// rxBenchClock reads the clock for the datagrams BenchmarkRxRound hands over next, as a round
// does after each io_uring_enter.
func rxBenchClock(u *uringRx) { u.now = time.Now() }
