package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/payment"
)

// ConnectorKey names an opened connector for everything that outlives a call — payment
// sessions, links, attempts, reconciliation — so that they reach the provider they were made
// with. A connector's name is not enough: every bundled example calls its connector
// "provider", and two plans' "provider" are two providers.
//
// The key is "PLAN/NAME#HASH": the plan, the connector's name, and a hash of what makes the
// connector a particular provider account — type, baseUrl as written ("sandbox" stays
// "sandbox"), account, token URL, client id, scope, Basic user, and for a stripe connector
// that authenticates with a key, the key (it is the account). Passwords and client secrets
// are not part of it: rotating a secret keeps the key, so links already sent still work, and a
// hash of a guessable password is never stored. Pointing the plan at another provider
// (another baseUrl, account or client) makes a new key; what was made with the old one then
// refuses to pay rather than pay the wrong provider.
func ConnectorKey(spec payment.ConnectorSpec) string {
	// What is hashed: "LEN:VALUE;" per field, in this order (as fmt wrote it before; the keys
	// are stored, so not one byte of it may change: TestConnectorKeyGolden).
	var buf [256]byte
	b := buf[:0]
	field := func(s string) {
		b = append(strconv.AppendInt(b, int64(len(s)), 10), ':')
		b = append(append(b, s...), ';')
	}
	field(spec.Type)
	field(spec.BaseURL)
	field(spec.Account)
	if cc := spec.ClientCredentials; cc != nil {
		field("oauth")
		field(cc.TokenURL)
		field(cc.ClientID)
		field(cc.Scope)
	}
	if ba := spec.BasicAuth; ba != nil {
		field("basic")
		field(ba.Username)
	}
	if spec.Type == "stripe" && spec.APIKey != "" && spec.ClientCredentials == nil {
		k := sha256.Sum256([]byte(spec.APIKey))
		field("key")
		field(hex.EncodeToString(k[:]))
	}
	plan := spec.Plan
	if plan == "" {
		plan = "-"
	}
	sum := sha256.Sum256(b)
	return plan + "/" + spec.Name + "#" + hex.EncodeToString(sum[:8])
}

// ByKey returns the open connector with key.
func (cs *Connectors) ByKey(key string) (*Connector, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.open[key]
	return c, ok
}

// Resolve finds the connector a record was made with: by its key; for a record from before
// keys were kept (key ""), by name, but only when exactly one open connector has that name —
// never a guess between two providers.
func (cs *Connectors) Resolve(key, name string) (*Connector, error) {
	if key != "" {
		if c, ok := cs.ByKey(key); ok {
			return c, nil
		}
		return nil, fmt.Errorf("%w: %s is not open (its plan was removed or now points elsewhere)", ErrUnknownConnector, key)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var found []*Connector
	for _, c := range cs.open {
		if c.spec.Name == name {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("%w: %q", ErrUnknownConnector, name)
	}
	keys := make([]string, len(found))
	for i, c := range found {
		keys[i] = c.key
	}
	return nil, fmt.Errorf("%w: %q names %d connectors (%s) and the record does not say which", ErrUnknownConnector, name, len(found), strings.Join(keys, ", "))
}
