package dtmf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/pan"
)

var testCards = []string{"4242424242424242", "5555555555554444", "378282246310005"}

// Every way the package's values reach text — events from all three sources, printed with
// every verb, logged with slog, marshalled to JSON, and every decoder error — carries no
// card number, even when a whole PAN is keyed through the Stream.
func TestNoCardNumberInOutput(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	text := slog.New(slog.NewTextHandler(&out, nil))
	for ci, number := range testCards {
		var evs []Event
		s := NewStream(StreamConfig{OnDigit: func(e Event) { evs = append(evs, e) }, OnRelease: func(e Event) { evs = append(evs, e) }})
		// card 0 through each source in turn, card 1 through all three at once, card 2 in-band
		for i := 0; i < len(number); i++ {
			d := Digit(number[i])
			inband, events, info := ci == 2 || ci == 1 || i%3 == 0, ci == 1 || (ci == 0 && i%3 == 1), ci == 1 || (ci == 0 && i%3 == 2)
			if info {
				if err := s.Info("application/dtmf-relay", FormatInfoRelay(d, 80*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
			}
			var ps []SenderPacket
			if events {
				ps, _ = NewSender(8000).Packets(d, uint32(i)*4000, 80*time.Millisecond, 20*time.Millisecond)
			}
			tone := GenerateDigit(d, ToneOptions{Level: -10, Duration: 80 * time.Millisecond})
			for f := 0; f < 10; f++ {
				for len(ps) > 0 && ps[0].Offset <= time.Duration(f)*20*time.Millisecond {
					if err := s.TelephoneEvent(ps[0].Timestamp, 0, ps[0].Payload); err != nil {
						t.Fatal(err)
					}
					ps = ps[1:]
				}
				frame := make([]int16, 160)
				if inband && f < 4 {
					copy(frame, tone[f*160:])
				}
				s.Audio(frame)
			}
		}
		s.Flush()
		keys := ""
		for _, e := range evs {
			if e.End == 0 {
				keys += string(e.Digit.Char())
			}
			fmt.Fprintf(&out, "%v %+v %#v %s %d\n", e, e, e, e.Digit, e.Digit)
			log.Info("key", "event", e, "digit", e.Digit)
			text.Info("key", "event", e, "digit", e.Digit)
			j, _ := json.Marshal(e)
			out.Write(j)
		}
		if keys != number {
			t.Fatalf("the stream heard %d keys of %d: %q", len(keys), len(number), keys)
		}
		var b pan.SecureBuffer
		for _, e := range evs {
			if e.End == 0 {
				if err := b.Append(e.Digit.Char()); err != nil {
					t.Fatal(err)
				}
			}
		}
		fmt.Fprintf(&out, "%v %+v %#v %s %q %x\n", &b, &b, &b, &b, &b, &b)
		log.Info("card", "pan", &b)
		b.Wipe()
		// decoder errors on bodies that carry the PAN
		for _, body := range []string{"Signal=" + number, number, "Signal=5\nDuration=" + number} {
			for _, ct := range []string{"application/dtmf-relay", "application/dtmf", "text/" + number} {
				if _, _, err := ParseInfo(ct, []byte(body)); err != nil {
					fmt.Fprintln(&out, err.Error(), errors.Unwrap(err))
				}
			}
		}
		if _, err := UnpackRED([]byte(number)); err != nil {
			fmt.Fprintln(&out, err)
		}
		var te TelephoneEvent
		fmt.Fprintln(&out, te.Unmarshal([]byte(number[:3])))
	}
	s := out.String()
	for _, card := range testCards {
		for _, form := range []string{card, card[len(card)-8:], hexOf(card)} {
			if strings.Contains(s, form) {
				t.Fatalf("output contains card digits (%d bytes scanned)", len(s))
			}
		}
	}
	if !strings.Contains(s, "************4242") {
		t.Fatal("the mask is missing: the scan did not see the buffer")
	}
}

func hexOf(s string) string { return fmt.Sprintf("%x", s)[:16] }
