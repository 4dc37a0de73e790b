package sandbox

import (
	"errors"
	"strconv"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
)

// The sandbox's side of its capture line (package sandbox/captureline): the SIP endpoint a
// voice session's dtmfFallbackNumber names. The line finds the session by the dtmfLinkId the
// caller's platform keys down it, takes the card from the caller's keypad into pan's secure
// buffers and completes the session here, in the sandbox's own ledger — as a real provider's
// line pays in its own back office, never through paybridge.

// Errors of the line's calls.
var (
	// ErrUnknownLink: no open voice session has that dtmfLinkId.
	ErrUnknownLink = errors.New("sandbox: no open session has that link id")
	// ErrSessionClosed: the session is completed, failed or expired.
	ErrSessionClosed = errors.New("sandbox: the session takes no more cards")
)

// LineCard is a card keyed on the capture line. Its digits are only in the secure buffers,
// which the caller owns and wipes.
type LineCard struct {
	Number       *pan.SecureBuffer
	Expiry       *pan.SecureBuffer // MMYY
	SecurityCode *pan.SecureBuffer // may be empty
}

// LineResult is what the line tells the caller (masked; no card data).
type LineResult struct {
	SessionID    string
	Outcome      string // approved | declined
	SessionState string
	ErrorCode    string
	MaskedCard   string
}

// openByLink returns the open voice session with that link id (caller holds s.mu).
func (s *Provider) openByLink(link string) (*paySession, error) {
	if link == "" {
		return nil, ErrUnknownLink
	}
	for id, sess := range s.sessions {
		if sess.Digital || sess.LinkID != link {
			continue
		}
		sess = s.session(id)
		if sess.State != stateCreated && sess.State != stateInProgress {
			return nil, ErrSessionClosed
		}
		return sess, nil
	}
	return nil, ErrUnknownLink
}

// LineSession reports the id of the open voice session the link id names.
func (s *Provider) LineSession(link string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, err := s.openByLink(link)
	if err != nil {
		return "", err
	}
	return sess.ID, nil
}

// PayOnLine submits a card keyed on the capture line to the session the link id names: a
// charge of the session's amount, or a token when it has none. The attempt is recorded in the
// ledger (a charge with API "session") and the session's captures with source "line".
func (s *Provider) PayOnLine(link string, card LineCard) (LineResult, error) {
	rc := receivedCard{expMonth: -1}
	var number, cvv []byte
	defer func() { cardsafe.Wipe(number); cardsafe.Wipe(cvv) }()
	if card.Number != nil {
		card.Number.Use(func(d []byte) { number = append(make([]byte, 0, len(d)), d...) })
	}
	if card.SecurityCode != nil && card.SecurityCode.Len() > 0 {
		card.SecurityCode.Use(func(d []byte) { cvv = append(make([]byte, 0, len(d)), d...) })
		rc.securityCode = cvv
	}
	if card.Expiry != nil && card.Expiry.Len() == 4 {
		card.Expiry.Use(func(d []byte) {
			rc.expMonth = int(d[0]-'0')*10 + int(d[1]-'0')
			rc.expYear = 2000 + int(d[2]-'0')*10 + int(d[3]-'0')
		})
	}
	rc.number = number

	s.mu.Lock()
	defer s.mu.Unlock()
	sess, err := s.openByLink(link)
	if err != nil {
		return LineResult{}, err
	}
	s.lineAttempts++
	key := "line:" + sess.ID + ":" + strconv.Itoa(s.lineAttempts)
	resp := s.captureInto(sess, captureInput{card: rc, tokenize: sess.Amount.Minor == 0}, key, "line")
	return LineResult{SessionID: sess.ID, Outcome: resp.Outcome, SessionState: resp.SessionState,
		ErrorCode: resp.ErrorCode, MaskedCard: resp.MaskedCard}, nil
}
