package engine_test

import (
	"fmt"
	"time"

	"github.com/paybridge/paybridge/engine"
)

// A VirtualClock only moves when told to: Step jumps to the next timer, so a replay that
// waits five seconds for a key takes no time at all.
func ExampleVirtualClock() {
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := engine.NewVirtualClock(start)
	timeout := c.After(5 * time.Second)
	c.AfterFunc(1200*time.Millisecond, func() { fmt.Println("key at", c.Now().Sub(start)) })
	for c.Step() {
		select {
		case <-timeout:
			fmt.Println("timeout at", c.Now().Sub(start))
		default:
		}
	}
	// Output:
	// key at 1.2s
	// timeout at 5s
}
