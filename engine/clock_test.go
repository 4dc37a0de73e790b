package engine

import (
	"testing"
	"time"
)

func TestVirtualClockOrderAndStep(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(start)
	var order []string
	c.AfterFunc(3*time.Second, func() { order = append(order, "c") })
	c.AfterFunc(1*time.Second, func() { order = append(order, "a") })
	c.AfterFunc(1*time.Second, func() { order = append(order, "b") }) // tie: creation order
	ch := c.After(2 * time.Second)

	if !c.Step() {
		t.Fatal("Step found nothing")
	}
	if got := c.Now().Sub(start); got != time.Second {
		t.Fatalf("after first Step clock at %v, want 1s", got)
	}
	if len(order) != 2 || order[0] != "a" || order[1] != "b" {
		t.Fatalf("order %v", order)
	}
	select {
	case <-ch:
		t.Fatal("2s timer fired at 1s")
	default:
	}
	c.Step()
	select {
	case at := <-ch:
		if at.Sub(start) != 2*time.Second {
			t.Fatalf("timer read %v", at.Sub(start))
		}
	default:
		t.Fatal("2s timer did not fire")
	}
	c.Advance(10 * time.Second)
	if got := c.Now().Sub(start); got != 12*time.Second {
		t.Fatalf("Advance: clock at %v, want 12s", got)
	}
	if len(order) != 3 || c.Pending() != 0 || c.Step() {
		t.Fatalf("order %v pending %d", order, c.Pending())
	}
}

func TestVirtualClockCallbackSchedules(t *testing.T) {
	c := NewVirtualClock(time.Unix(0, 0))
	n := 0
	var tick func()
	tick = func() {
		n++
		if n < 100 {
			c.AfterFunc(20*time.Millisecond, tick)
		}
	}
	c.AfterFunc(20*time.Millisecond, tick)
	c.Advance(time.Second)
	if n != 50 {
		t.Fatalf("ticks in 1s of 20ms = %d, want 50", n)
	}
	for c.Step() {
	}
	if n != 100 || c.Now() != time.Unix(2, 0) {
		t.Fatalf("n=%d now=%v", n, c.Now())
	}
}

func TestVirtualClockZeroFiresAtOnce(t *testing.T) {
	c := NewVirtualClock(time.Unix(0, 0))
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
	select {
	case <-c.After(-time.Second):
	default:
		t.Fatal("After(<0) did not fire at once")
	}
}

func TestWallClock(t *testing.T) {
	var c Clock = WallClock{}
	before := time.Now()
	<-c.After(time.Millisecond)
	if c.Now().Sub(before) < time.Millisecond {
		t.Fatal("wall clock After returned early")
	}
}
