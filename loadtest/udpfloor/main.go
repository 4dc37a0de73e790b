// Command udpfloor measures this machine's floor for media: the CPU that one loopback UDP send
// plus one receive of an RTP-sized packet costs through Go's net package, with no paybridge
// code, converted to CPU-milliseconds per call-second (a media call moves 50 packets in and 50
// out each second). paybridge's own cost per call-second is reported as a multiple of it.
//
// Two figures: "tight" (send then read in one goroutine: the packet is already queued, nothing
// parks — the kernel's and net's cost alone, the floor of issue 17) and "wakeup" (a ping-pong
// between two goroutines parked in the netpoller, as a receive loop is when packets are 20 ms
// apart).
//
// Usage: go run ./loadtest/udpfloor [-n 200000] [-runs 3] [-json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
)

func main() {
	n := flag.Int("n", 200000, "send+receive pairs per run")
	runs := flag.Int("runs", 3, "runs of each mode; the lowest CPU is reported (others on the box only add to it)")
	asJSON := flag.Bool("json", false, "print one JSON object (for loadtest/capacity)")
	flag.Parse()
	tight, err := best(Tight, *n, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpfloor:", err)
		os.Exit(1)
	}
	wake, err := best(Wakeup, *n, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpfloor:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(map[string]float64{
			"tight_pair_us": float64(tight.PairCPU()) / 1e3, "tight_ms_per_call_second": tight.PerCallSecond(),
			"wakeup_pair_us": float64(wake.PairCPU()) / 1e3, "wakeup_ms_per_call_second": wake.PerCallSecond(),
		})
		return
	}
	fmt.Printf("loopback UDP floor — %d CPUs, GOMAXPROCS %d, %d-byte packets, best of %d runs\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), PacketSize, *runs)
	fmt.Println(tight)
	fmt.Println(wake)
}

// best runs f runs times and keeps the run with the least CPU per pair: other work on a shared
// machine can only make a run cost more, never less.
func best(f func(int) (Result, error), n, runs int) (Result, error) {
	var rs []Result
	for range max(runs, 1) {
		r, err := f(n)
		if err != nil {
			return Result{}, err
		}
		rs = append(rs, r)
	}
	return slices.MinFunc(rs, func(a, b Result) int { return int(a.PairCPU() - b.PairCPU()) }), nil
}
