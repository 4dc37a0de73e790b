package dtmf_test

import (
	"fmt"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// A detector fed 20 ms frames reports each key twice: when it goes down (End == 0) and when
// it comes up.
func ExampleDetector() {
	audio := dtmf.GenerateDigits("42#", dtmf.DefaultToneOptions())
	d := dtmf.NewDetector()
	for i := 0; i < len(audio); i += 160 {
		for _, e := range d.Process(audio[i:min(i+160, len(audio))]) {
			if e.End == 0 {
				fmt.Printf("%c down at %v\n", e.Digit.Char(), e.Start)
			}
		}
	}
	// Output:
	// 4 down at 0s
	// 2 down at 121.125ms
	// # down at 242.25ms
}

// A gateway sends the key as tones and as RFC 4733 events: the stream reports it once.
func ExampleStream() {
	s := dtmf.NewStream(dtmf.StreamConfig{
		OnDigit: func(e dtmf.Event) { fmt.Printf("key %c from %v\n", e.Digit.Char(), e.Source) },
	})
	tone := dtmf.GenerateDigit('7', dtmf.ToneOptions{Level: -10, Duration: 100 * time.Millisecond})
	events, _ := dtmf.NewSender(8000).Packets('7', 1000, 100*time.Millisecond, 20*time.Millisecond)
	for f := 0; f < 10; f++ {
		frame := make([]int16, 160)
		if f < 5 {
			copy(frame, tone[f*160:])
		}
		s.Audio(frame)
		for len(events) > 0 && events[0].Offset <= time.Duration(f+1)*20*time.Millisecond {
			_ = s.TelephoneEvent(events[0].Timestamp, uint16(f), events[0].Payload)
			events = events[1:]
		}
	}
	// Output:
	// key 7 from rfc4733
}

// The masker delays audio by its look-ahead and replaces the tones.
func ExampleMasker() {
	m := dtmf.NewMasker(dtmf.MaskerConfig{})
	in := dtmf.GenerateDigits("5", dtmf.DefaultToneOptions())
	out := append(m.Process(in), m.Flush()...)
	nonzero := 0
	for _, s := range out {
		if s != 0 {
			nonzero++
		}
	}
	fmt.Println(m.Masked(), "key masked,", nonzero, "samples of it left, look-ahead", m.Lookahead())
	// Output: 1 key masked, 0 samples of it left, look-ahead 60ms
}

func ExampleParseInfo() {
	d, dur, err := dtmf.ParseInfo("application/dtmf-relay", []byte("Signal=#\r\nDuration=160\r\n"))
	fmt.Printf("%c %v %v\n", d.Char(), dur, err)
	// Output: # 160ms <nil>
}
