package pcapgen

import (
	"bytes"
	"testing"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/media"
)

// TestRFC4733RoundTrip reads the generated pcap back and checks what SIPp's bundled files get
// wrong: one SSRC, one timestamp per keypress (repeated keys distinct), the marker on each
// event's first packet, three end packets, and a contiguous sequence.
func TestRFC4733RoundTrip(t *testing.T) {
	const keys = "4242424242424242"
	var b bytes.Buffer
	if err := WriteRFC4733(&b, keys, Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := media.ReadPcap(&b)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	ends := map[uint32]int{}
	var lastTS uint32
	for i, p := range c.RTP {
		if p.Header.SSRC != c.RTP[0].Header.SSRC {
			t.Fatalf("packet %d has another SSRC", i)
		}
		if i > 0 && p.Header.SequenceNumber != c.RTP[i-1].Header.SequenceNumber+1 {
			t.Fatalf("sequence gap at packet %d", i)
		}
		if p.Header.PayloadType != 101 {
			continue
		}
		var te dtmf.TelephoneEvent
		if err := te.Unmarshal(p.Payload); err != nil {
			t.Fatal(err)
		}
		if p.Header.Timestamp != lastTS {
			if !p.Header.Marker {
				t.Errorf("event at ts %d starts without the marker", p.Header.Timestamp)
			}
			d, _ := dtmf.DigitFromEvent(te.Event)
			got = append(got, d.Char())
			lastTS = p.Header.Timestamp
		}
		if te.End {
			ends[p.Header.Timestamp]++
		}
	}
	if string(got) != keys {
		t.Fatalf("events decode to %d keys, want %d (equal=%v)", len(got), len(keys), string(got) == keys)
	}
	for ts, n := range ends {
		if n != 3 {
			t.Errorf("event at ts %d has %d end packets, want 3", ts, n)
		}
	}
}

func TestInbandULawLength(t *testing.T) {
	o := Options{}
	o.defaults()
	b := InbandULaw("12", o)
	want := int((o.Lead+2*(o.On+o.Off)+o.Tail).Seconds()*8000 + 0.5)
	if len(b) != want {
		t.Fatalf("%d samples, want %d", len(b), want)
	}
}
