package store

import (
	"errors"
	"strings"
	"testing"
)

// Event fields are stored through pan.RedactJSON: still a JSON object, order kept, cards and
// the security code masked; anything but an object is refused.
func TestRedactJSONFields(t *testing.T) {
	got, err := redactJSON([]byte(`{"a":"4242424242424242","n":4242424242424242,"k":[1,"x 5555555555554444"],"cvc":"123","ok":12}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"************4242","n":"************4242","k":[1,"x ************4444"],"cvc":"***","ok":12}`; got != want {
		t.Errorf("redactJSON = %s, want %s", got, want)
	}
	for _, pan := range testPANs {
		if strings.Contains(got, pan) {
			t.Fatalf("redactJSON left %s in %s", pan, got)
		}
	}
	if got, err := redactJSON(nil); got != "" || err != nil {
		t.Errorf("empty fields: %q %v", got, err)
	}
	for _, bad := range []string{`{"a":1} {"b":2}`, `{"a":`, ` "x"`, `{"a":1}x`} {
		if _, err := redactJSON([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("redactJSON(%s) = %v, want ErrInvalid", bad, err)
		}
	}
	if got, err := redactJSON([]byte(" \n{\"a\": 1}")); err != nil || got != " \n{\"a\": 1}" {
		t.Errorf("an object after white space: %q, %v", got, err)
	}
	if _, err := redactJSON([]byte(`["4242424242424242"]`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("an array is not event fields: %v", err)
	}
}
