package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the generated admin token in the data directory.
const TokenFile = "admin.token"

// MinTokenLen is the shortest admin token accepted from a flag, the environment or the file.
const MinTokenLen = 16

// AdminToken resolves the admin API token. A non-empty flagValue (serve passes --admin-token,
// else $PAYBRIDGE_ADMIN_TOKEN) wins and nothing is written. Otherwise the token is read from
// <dataDir>/admin.token, which must be private to its owner (mode 0600); when the file does not
// exist a new random token is generated, written there with mode 0600 and created is true —
// serve prints it once. A token shorter than MinTokenLen, or a file readable by others, is an
// error.
func AdminToken(dataDir, flagValue string) (token string, created bool, err error) {
	if flagValue != "" {
		if err := checkToken(flagValue); err != nil {
			return "", false, fmt.Errorf("--admin-token: %w", err)
		}
		return flagValue, false, nil
	}
	if dataDir == "" {
		return "", false, fmt.Errorf("%w: no data directory", ErrTokenFile)
	}
	path := filepath.Join(dataDir, TokenFile)
	tok, err := readTokenFile(path)
	if err == nil {
		return tok, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	tok = "pb_" + base64.RawURLEncoding.EncodeToString(b[:])
	// O_EXCL: two processes starting at once never overwrite each other's token.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		tok, err := readTokenFile(path)
		return tok, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	return tok, true, nil
}

func readTokenFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s has mode %#o; it holds the admin secret: chmod 600 %s", ErrTokenFile, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	tok := strings.TrimSpace(string(b))
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrTokenFile, path, err)
	}
	return tok, nil
}

// checkToken accepts tokens of MinTokenLen or more HTTP token characters (so a token can also
// travel as a WebSocket subprotocol).
func checkToken(tok string) error {
	if len(tok) < MinTokenLen {
		return fmt.Errorf("admin token must be at least %d characters", MinTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if !isTokenChar(tok[i]) {
			return errors.New("admin token may use only letters, digits and -._~+!#$&'*^`|")
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+!#$&'*^`|", c) >= 0
}

// tokenMatch compares in constant time: both sides are hashed first so neither the content nor
// the length of the token leaks through timing.
func tokenMatch(want []byte, got string) bool {
	if got == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(want, g[:]) == 1
}
