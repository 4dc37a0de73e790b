package callplan

import (
	"testing"
	"time"
)

func TestFindSecret(t *testing.T) {
	secret := []string{
		"sk_live_51Habcdefghijkl", "x sk_test_abcdefghijkl", "rk_live_abcdefghij", "whsec_abcdefghijk",
		"Bearer eyJhbGciOiJIUzI1NiJ9", "  bearer abcdefgh12345", "Basic dXNlcjpwYXNzd29yZA==",
		`{"Authorization": "Bearer abcdefgh12345"}`, "Authorization: Basic dXNlcjpwYXNz",
		"grant_type=client_credentials&client_secret=hunter2", "user=a&password=x", "https://x/?api_key=abc",
		`{"client_secret":"abc"}`, `{"password": "p"}`, "AKIAABCDEFGHIJKLMNOP",
	}
	for _, s := range secret {
		if findSecret(s) == "" {
			t.Errorf("findSecret(%q) found nothing", s)
		}
	}
	clean := []string{
		"Bearer $(AccessToken)", "Bearer #(env:TOKEN)", "Basic #(env:BASIC)", "Bearer ", "Bearer short",
		"client_secret=#(env:SECRET)&scope=x", "client_secret=$(Secret)", `{"client_secret":"#(env:S)"}`,
		"Basic information about your bill is available", "the bearer of good news arrives tomorrow",
		"sk_live_", "task_live_x", "welcome", "password=", "AKIA", "XAKIAABCDEFGHIJKLMNOP",
	}
	for _, s := range clean {
		if got := findSecret(s); got != "" {
			t.Errorf("findSecret(%q) = %q, want nothing", s, got)
		}
	}
}

func TestParseDurationAttr(t *testing.T) {
	ok := map[string]time.Duration{"500ms": 500 * time.Millisecond, "5s": 5 * time.Second, "1m": time.Minute, "1m30s": 90 * time.Second, "72h": 72 * time.Hour, "1.5s": 1500 * time.Millisecond}
	for s, want := range ok {
		if d, err := parseDurationAttr(s, 0, 100*time.Hour); err != nil || d != want {
			t.Errorf("parseDurationAttr(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "5", "5 s", "-1s", "five", "1d", "0.5"} {
		if _, err := parseDurationAttr(s, 0, 100*time.Hour); err == nil {
			t.Errorf("parseDurationAttr(%q) accepted", s)
		}
	}
	if _, err := parseDurationAttr("11m", time.Second, 10*time.Minute); err == nil {
		t.Error("out of range accepted")
	}
}

func TestE164(t *testing.T) {
	for s, want := range map[string]bool{"+441632960000": true, "+1": false, "+12": true, "+0123": false, "441632960000": false, "+1234567890123456": false, "+44 1632": false} {
		if got := parseE164(s); got != want {
			t.Errorf("parseE164(%q) = %v", s, got)
		}
	}
}
