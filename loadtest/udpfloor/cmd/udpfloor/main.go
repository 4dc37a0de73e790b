// Command udpfloor prints this machine's loopback UDP floor for a media call (see package
// udpfloor): the CPU of one send+receive pair and the CPU-ms per call-second it implies.
//
// Usage: go run ./loadtest/udpfloor/cmd/udpfloor [-n 200000] [-runs 3]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/paybridge/paybridge/loadtest/udpfloor"
)

func main() {
	n := flag.Int("n", 200000, "send+receive pairs per run")
	runs := flag.Int("runs", 3, "runs of each mode; the lowest CPU is reported (others on the box only add to it)")
	flag.Parse()
	fmt.Printf("loopback UDP floor — %d CPUs, GOMAXPROCS %d, %d-byte packets, best of %d runs\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), udpfloor.PacketSize, *runs)
	for _, f := range []func(int) (udpfloor.Result, error){udpfloor.Tight, udpfloor.Wakeup} {
		r, err := udpfloor.Best(f, *n, *runs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpfloor:", err)
			os.Exit(1)
		}
		fmt.Println(r)
	}
}
