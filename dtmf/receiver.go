package dtmf

import "time"

// Receiver turns RFC 4733 telephone-event payloads of one RTP stream into keypresses.
//
// An event is keyed on its RTP timestamp alone — never on the marker bit, the event code or
// duration deltas. The key goes down (an Event with End == 0) on the first packet seen of a
// new timestamp, whatever its duration or end bit, so lost first packets and end-only senders
// still give one key. It goes up (End > 0) exactly once: on the first end packet, when a newer
// timestamp arrives, or when Expire finds no update for Timeout. Duplicates, the three end
// packets, stale and reordered packets never make a second key; the same key pressed twice
// has two timestamps and makes two. Events of 8 s and more are sent as segments of 65535
// units with consecutive timestamps; they remain one key. Events 16 and above are not keys.
//
// Times are on the caller's clock: the now passed in. Start is back-dated by the duration the
// first packet seen reports. A Receiver is not safe for concurrent use.
type Receiver struct {
	rate int
	// Timeout ends a key whose sender went silent; default 200 ms.
	Timeout time.Duration

	cur      *rxEvent
	newest   uint32 // newest timestamp seen
	haveTS   bool
	finished [16]uint32 // timestamps of recently finished events
	nfin     int
}

type rxEvent struct {
	ts         uint32
	code       uint8
	start      time.Duration
	base       int64 // clock units of earlier segments
	dur        int64 // clock units reported in this segment
	lastUpdate time.Duration
}

// NewReceiver returns a receiver for a stream whose telephone-event clock runs at clockRate
// Hz (the rate of the negotiated telephone-event format: usually 8000, 16000 or 48000).
// A rate ≤ 0 is taken as 8000.
func NewReceiver(clockRate int) *Receiver {
	if clockRate <= 0 {
		clockRate = 8000
	}
	return &Receiver{rate: clockRate, Timeout: 200 * time.Millisecond}
}

func (r *Receiver) units(n int64) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(r.rate)
}

// Receive handles one telephone-event payload (the caller has matched the negotiated payload
// type and unpacked RFC 2198 redundancy) that arrived at now. seq is accepted for symmetry
// with the RTP header; ordering is decided by timestamps.
func (r *Receiver) Receive(ts uint32, seq uint16, payload []byte, now time.Duration) ([]Event, error) {
	var te TelephoneEvent
	if err := te.Unmarshal(payload); err != nil {
		return nil, err
	}
	var out []Event
	if c := r.cur; c != nil && ts == c.ts {
		if int64(te.Duration) > c.dur {
			c.dur = int64(te.Duration)
		}
		c.lastUpdate = now
		if te.End {
			out = r.finish(out)
		}
		return out, nil
	}
	if r.wasFinished(ts) {
		return nil, nil // duplicate or late packet of an event already reported
	}
	if r.haveTS && int32(ts-r.newest) < 0 {
		return nil, nil // stale: older than the newest event, never resurrect it
	}
	r.newest, r.haveTS = ts, true
	if c := r.cur; c != nil {
		if te.Event == c.code && r.continues(c, ts) {
			// the next segment of a long event
			c.base += int64(ts - c.ts)
			c.ts, c.dur, c.lastUpdate = ts, int64(te.Duration), now
			if te.End {
				out = r.finish(out)
			}
			return out, nil
		}
		out = r.finish(out)
	}
	d, ok := DigitFromEvent(te.Event)
	if !ok {
		r.remember(ts)
		return out, nil
	}
	start := now - r.units(int64(te.Duration))
	if start < 0 {
		start = 0
	}
	r.cur = &rxEvent{ts: ts, code: te.Event, start: start, dur: int64(te.Duration), lastUpdate: now}
	out = append(out, Event{Digit: d, Source: SourceRFC4733, Start: start})
	if te.End {
		out = r.finish(out)
	}
	return out, nil
}

// continues reports whether a new timestamp ts is the next segment of c: c has run to
// (nearly) the 16-bit duration limit and ts follows on from it.
func (r *Receiver) continues(c *rxEvent, ts uint32) bool {
	slack := int64(r.rate / 5)
	delta := int64(ts - c.ts)
	return c.dur >= 0xFFFF-slack && delta >= c.dur-slack && delta <= 0xFFFF+slack
}

// Expire ends a key that has had no update for Timeout by now.
func (r *Receiver) Expire(now time.Duration) []Event {
	if r.cur == nil || now-r.cur.lastUpdate < r.Timeout {
		return nil
	}
	return r.finish(nil)
}

// Active reports the key currently held, if any.
func (r *Receiver) Active() (Digit, bool) {
	if r.cur == nil {
		return 0, false
	}
	d, _ := DigitFromEvent(r.cur.code)
	return d, true
}

func (r *Receiver) finish(out []Event) []Event {
	c := r.cur
	if c == nil {
		return out
	}
	r.cur = nil
	r.remember(c.ts)
	d, _ := DigitFromEvent(c.code)
	end := c.start + r.units(c.base+c.dur)
	if end <= c.start {
		end = c.start + time.Second/time.Duration(r.rate)
	}
	out = append(out, Event{Digit: d, Source: SourceRFC4733, Start: c.start, End: end})
	*c = rxEvent{} // the key's code goes with it
	return out
}

func (r *Receiver) remember(ts uint32) {
	r.finished[r.nfin%len(r.finished)] = ts
	r.nfin++
}

func (r *Receiver) wasFinished(ts uint32) bool {
	n := min(r.nfin, len(r.finished))
	for i := 0; i < n; i++ {
		if r.finished[i] == ts {
			return true
		}
	}
	return false
}
