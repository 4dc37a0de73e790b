package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

func TestLookupNumbersRecordsAndPassesBodyThrough(t *testing.T) {
	const body = `{"customer":{"mobile":"+447700900123","office":"+15550001111"},"ref":"12345678","short":"+4412"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	l := newLookupNumbers()
	resp, err := l.Client("call-1").Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != body {
		t.Fatalf("body changed: %q", got)
	}
	nums := l.Trusted(context.Background(), "call-1")
	sort.Strings(nums)
	if strings.Join(nums, ",") != "+15550001111,+447700900123" {
		t.Fatalf("trusted = %v", nums)
	}
	if n := l.Trusted(context.Background(), "call-2"); len(n) != 0 {
		t.Fatalf("another call's numbers leaked: %v", n)
	}
	l.Forget("call-1")
	if n := l.Trusted(context.Background(), "call-1"); len(n) != 0 {
		t.Fatalf("Forget kept %v", n)
	}
}
