package console

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminTokenGeneratedOnceAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, created, err := AdminToken(dir, "")
	if err != nil || !created || len(tok) < 40 || !strings.HasPrefix(tok, "pb_") {
		t.Fatalf("first start: %q %v %v", tok, created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	again, created, err := AdminToken(dir, "")
	if err != nil || created || again != tok {
		t.Errorf("second start: %q %v %v, want the same token, not created", again, created, err)
	}
	other, _, _ := AdminToken(t.TempDir(), "")
	if other == tok {
		t.Error("two data directories generated the same token")
	}
}

func TestAdminTokenFlagWins(t *testing.T) {
	dir := t.TempDir()
	tok, created, err := AdminToken(dir, "flag-token-0123456789")
	if err != nil || created || tok != "flag-token-0123456789" {
		t.Fatalf("flag: %q %v %v", tok, created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, TokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a flag token must not be written to disk: %v", err)
	}
	for _, bad := range []string{"short", "has space in the token value", "newline\ninjected-token-x"} {
		if _, _, err := AdminToken(dir, bad); err == nil {
			t.Errorf("flag token %q accepted", bad)
		}
	}
}

func TestAdminTokenFileChecks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TokenFile)
	if err := os.WriteFile(path, []byte("file-token-0123456789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := AdminToken(dir, ""); !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file: %v", err)
	}
	os.Chmod(path, 0o600)
	if tok, created, err := AdminToken(dir, ""); err != nil || created || tok != "file-token-0123456789" {
		t.Errorf("operator-written token file: %q %v %v", tok, created, err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, _, err := AdminToken(dir, ""); !errors.Is(err, ErrTokenFile) {
		t.Errorf("short token in file: %v", err)
	}
	if _, _, err := AdminToken("", ""); err == nil {
		t.Error("no data dir and no flag accepted")
	}
}

func TestTokenMatch(t *testing.T) {
	h := sha256.Sum256([]byte(testToken))
	for tok, want := range map[string]bool{testToken: true, "": false, testToken + " ": false, strings.ToUpper(testToken): false} {
		if got := tokenMatch(h[:], tok); got != want {
			t.Errorf("tokenMatch(%q) = %v", tok, got)
		}
	}
}
