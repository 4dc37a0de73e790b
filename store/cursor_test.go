package store

import (
	"errors"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		t  time.Time
		id string
	}{{t0, "c1"}, {time.UnixMicro(0), "x.y.z"}, {t0.Add(123 * time.Microsecond), "ünïcode"}} {
		c := encodeCursor(tc.t, tc.id)
		ts, id, ok, err := decodeCursor(c)
		if err != nil || !ok || ts != tc.t.UnixMicro() || id != tc.id {
			t.Errorf("round trip %v %q: %d %q %v %v", tc.t, tc.id, ts, id, ok, err)
		}
	}
	if _, _, ok, err := decodeCursor(""); ok || err != nil {
		t.Errorf("empty cursor: %v %v", ok, err)
	}
	for _, bad := range []string{"!!", "eA", "MTIz", "LTEueA", "YS5i"} { // "x", "123", "-1.x", "a.b"
		if _, _, _, err := decodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("decodeCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(t0, "c1"))
	f.Add("")
	f.Add("!!")
	f.Add("MTIz")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, ok, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		if ok && encodeCursor(time.UnixMicro(ts), id) == "" {
			t.Fatal("re-encode failed")
		}
	})
}
