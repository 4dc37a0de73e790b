package media

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestSessionReceiveLayout: what the receiver touches per datagram lies in three cache lines
// of the session, each field on the line its role gives it (session.go): the first read per
// packet and written per call, the second the reader's own, the third written per packet and
// read by others. A field added in front of them, or one that grows, moves them apart again
// and fails here. The lines are where a real allocation puts them: a Session's address modulo
// 64 is the same for every one (the runtime's malloc header in a 64-byte-aligned slot).
func TestSessionReceiveLayout(t *testing.T) {
	want := map[string]uintptr{
		"rxPeer": 0, "rxPeerGen": 0, "sdpGenNow": 0, "paramsNow": 0,
		"rx": 1, "rxv": 1, "rxSSRC": 1, "rxNextTS": 1, "rxFrame": 1, "candSSRCN": 1,
		"reading": 1, "clockLag": 1, "rxStopped": 1, "rxSeq": 1, "rxStarted": 1, "rxStartedSSRC": 1, "rxTSKnown": 1,
		"lastRx": 2, "received": 2, "dtmfMu": 2, "stream": 2, "rec": 2, "link": 2,
	}
	var keep []*Session
	base := uintptr(1 << 20)
	for range 16 {
		m := newSession(nil, nil)
		keep = append(keep, m)
		a := uintptr(unsafe.Pointer(m)) % 64
		if base != 1<<20 && a != base {
			t.Fatalf("Sessions at %d and %d bytes past a cache line boundary: the layout cannot be planned", base, a)
		}
		base = a
	}
	if base != 8 {
		t.Errorf("a Session starts %d bytes past a cache line boundary; session.go's layout assumes 8 (the malloc header)", base)
	}
	ty := reflect.TypeOf(Session{})
	for name, line := range want {
		f, ok := ty.FieldByName(name)
		if !ok {
			t.Fatalf("Session has no field %s", name)
		}
		first, last := (base+f.Offset)/64, (base+f.Offset+f.Type.Size()-1)/64
		if first != line || last != line {
			t.Errorf("Session.%s is at bytes %d..%d: lines %d..%d of the session, want all of it in line %d",
				name, f.Offset, f.Offset+f.Type.Size()-1, first, last, line)
		}
	}
	_ = keep
}
