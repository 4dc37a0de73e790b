package pcapgen

import (
	"bytes"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
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
	c, err := audiofile.ReadPcap(&b)
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

// TestPacketListsOnTheFrameGrid: callgen sends one packet per call every 20 ms, so both
// streams must be one packet per frame with a contiguous sequence; the in-band packets carry
// exactly InbandULaw's audio, and the pcap holds exactly RFC4733's packets.
func TestPacketListsOnTheFrameGrid(t *testing.T) {
	const keys = "4242#1230#"
	ev, err := RFC4733(keys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := Inband(keys, Options{})
	for name, pkts := range map[string][]Packet{"rfc4733": ev, "inband": in} {
		for i, p := range pkts {
			if p.At != time.Duration(i)*frame || p.Packet.SequenceNumber != pkts[0].Packet.SequenceNumber+uint16(i) {
				t.Fatalf("%s packet %d at %v seq %d: not on the grid", name, i, p.At, p.Packet.SequenceNumber)
			}
		}
	}
	var audio []byte
	for _, p := range in {
		audio = append(audio, p.Packet.Payload...)
	}
	if want := InbandULaw(keys, Options{}); !bytes.Equal(audio, want[:len(audio)]) || len(want)-len(audio) >= 160 {
		t.Fatalf("in-band packets carry %d bytes of %d, or other audio", len(audio), len(want))
	}
	var b bytes.Buffer
	if err := WriteRFC4733(&b, keys, Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := audiofile.ReadPcap(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RTP) != len(ev) {
		t.Fatalf("pcap holds %d packets, RFC4733 returned %d", len(c.RTP), len(ev))
	}
}
