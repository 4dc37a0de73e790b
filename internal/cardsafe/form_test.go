package cardsafe

import (
	"errors"
	"net/url"
	"testing"
)

func collect(v string) (string, error) {
	var out []byte
	err := FormValue([]byte(v), func(c byte) error { out = append(out, c); return nil })
	return string(out), err
}

func TestFormValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"4242+4242%204242-4242", "4242 4242 4242-4242", nil},
		{"%2F%2f", "//", nil},
		{"", "", nil},
		{"12%3", "", ErrBadEscape},
		{"%zz", "", ErrBadEscape},
		{"%", "", ErrBadEscape},
	} {
		got, err := collect(tc.in)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("FormValue(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	// An error from the callback ends the decoding.
	stop := errors.New("stop")
	n := 0
	if err := FormValue([]byte("abc"), func(byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("callback error: %v after %d bytes", err, n)
	}
}

func TestFormDigits(t *testing.T) {
	for in, want := range map[string]string{"4242+4242-4242%204242": "4242424242424242", "%34%32": "42", "12a": "", "1.2": ""} {
		var got []byte
		err := FormDigits([]byte(in), func(c byte) error { got = append(got, c); return nil })
		if want == "" && !errors.Is(err, ErrNotDigits) || want != "" && (err != nil || string(got) != want) {
			t.Errorf("FormDigits(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzFormValue: FormValue decodes exactly what net/url does, and fails where it fails.
func FuzzFormValue(f *testing.F) {
	for _, s := range []string{"4242+4242", "%34%32", "%", "%z1", "a%20b", "+%2B+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := collect(s)
		want, werr := url.QueryUnescape(s)
		if (err == nil) != (werr == nil) || (err == nil && got != want) {
			t.Fatalf("%q: FormValue %q, %v; net/url %q, %v", s, got, err, want, werr)
		}
	})
}
