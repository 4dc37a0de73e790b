package sandbox

import (
	"encoding/json"
	"net/http"
	"time"
)

// Message is a text the sandbox's SMS API accepted.
type Message struct {
	SID     string    `json:"sid"`
	To      string    `json:"to"`
	From    string    `json:"from"`
	Body    string    `json:"body"`
	Status  string    `json:"status"`
	Created time.Time `json:"date_created"`
}

// maxSMSBody is the longest body the sandbox accepts (ten concatenated segments).
const maxSMSBody = 1600

// handleSendSMS speaks the common "Messages" REST shape: a form with To, From and Body, HTTP
// Basic auth, 201 with a JSON message resource.
func (s *Provider) handleSendSMS(w http.ResponseWriter, r *http.Request) {
	if !s.requireBasic(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 21602, "message": "unreadable form"})
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	switch {
	case !validE164(to):
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 21211, "message": "The 'To' number is not a valid E.164 phone number."})
		return
	case from == "":
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 21603, "message": "A 'From' phone number is required."})
		return
	case body == "" || len(body) > maxSMSBody:
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 21602, "message": "Message body is required and at most 1600 characters."})
		return
	}
	m := Message{SID: "SM" + randomHex(16), To: to, From: from, Body: body, Status: "queued", Created: s.now()}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, m)
}

func (s *Provider) handleListSMS(w http.ResponseWriter, r *http.Request) {
	if !s.requireBasic(w, r) {
		return
	}
	b, _ := json.Marshal(map[string]any{"messages": s.Messages()})
	writeRaw(w, http.StatusOK, b)
}

// Messages returns every text the SMS API accepted, oldest first.
func (s *Provider) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message{}, s.messages...)
}

// validE164 reports whether n is "+" and 8–15 digits, the first not zero.
func validE164(n string) bool {
	if len(n) < 9 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
		return false
	}
	return isDigits(n[1:])
}
