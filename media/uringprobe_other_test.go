//go:build linux && !(amd64 || arm64)

package media

// uringRxProbe: no io_uring receiver on this architecture.
func uringRxProbe() (tid int, rounds func() int64) { return 0, nil }
