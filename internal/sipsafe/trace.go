package sipsafe

import (
	"bytes"
	"io"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/paybridge/paybridge/pan"
)

// RedactSIP returns msg as a trace may show it: every body that is not SDP replaced by a
// placeholder (SIP INFO bodies carry DTMF digits, card data), the SRTP keys of an SDP body
// replaced too (SDES a=crypto "inline:" keys and a=key-mgmt data are as secret as the card:
// they decrypt its tones), and the rest passed through paybridge's one redactor (pan.Redact),
// so a card number a caller put in a header — a From user, a Subject — is masked too.
func RedactSIP(msg []byte) []byte {
	return redactText(redactSDPKeys(withoutBody(msg)))
}

// keyRedacted replaces a key in a trace.
const keyRedacted = "[key redacted]"

// redactSDPKeys replaces every SDES inline key (what follows "inline:" up to '|', ';' or white
// space, in any case) and the value of every a=key-mgmt attribute. It returns msg itself when
// there is none.
func redactSDPKeys(msg []byte) []byte {
	lower := bytes.ToLower(msg)
	if !bytes.Contains(lower, []byte("inline:")) && !bytes.Contains(lower, []byte("a=key-mgmt:")) {
		return msg
	}
	out := make([]byte, 0, len(msg))
	for i := 0; i < len(msg); {
		var skip int
		switch {
		case bytes.HasPrefix(lower[i:], []byte("inline:")):
			skip = len("inline:")
		case bytes.HasPrefix(lower[i:], []byte("a=key-mgmt:")):
			skip = len("a=key-mgmt:")
		default:
			out = append(out, msg[i])
			i++
			continue
		}
		out = append(out, msg[i:i+skip]...)
		i += skip
		j := i
		for j < len(msg) && msg[j] != '|' && msg[j] != ';' && msg[j] != ' ' && msg[j] != '\t' && msg[j] != '\r' && msg[j] != '\n' {
			j++
		}
		if skip == len("a=key-mgmt:") {
			for j < len(msg) && msg[j] != '\r' && msg[j] != '\n' { // the whole attribute value
				j++
			}
		}
		if j > i {
			out = append(out, keyRedacted...)
		}
		i = j
	}
	return out
}

// redactText applies pan.Redact to b, returning b itself when nothing is masked.
func redactText(b []byte) []byte {
	s := string(b)
	if r := pan.Redact(s); r != s {
		return []byte(r)
	}
	return b
}

// withoutBody returns msg with a body that is not SDP replaced by a placeholder.
func withoutBody(msg []byte) []byte {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	sep := 4
	if i < 0 {
		i = bytes.Index(msg, []byte("\n\n"))
		sep = 2
	}
	if i < 0 || i+sep >= len(msg) {
		return msg
	}
	head, body := msg[:i], msg[i+sep:]
	if len(bytes.TrimSpace(body)) == 0 || isSDPHead(head) {
		return msg
	}
	out := make([]byte, 0, len(head)+sep+40)
	out = append(out, head...)
	out = append(out, msg[i:i+sep]...)
	out = append(out, "[body redacted: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, " bytes]"...)
	return out
}

func isSDPHead(head []byte) bool {
	for _, line := range bytes.Split(head, []byte("\n")) {
		line = bytes.TrimSpace(line)
		l := bytes.ToLower(line)
		if bytes.HasPrefix(l, []byte("content-type:")) || bytes.HasPrefix(l, []byte("c:")) {
			v := bytes.TrimSpace(l[bytes.IndexByte(l, ':')+1:])
			return bytes.HasPrefix(v, []byte("application/sdp"))
		}
	}
	return false
}

var traceMu sync.Mutex

// TraceSIP writes every SIP message sent and received by any SIP user agent in this process
// to w, redacted with RedactSIP; nil turns tracing off. sipgo's tracer and its SIPDebug switch
// are process-global and read without synchronisation: set them before serving and change them
// only while no SIP traffic flows.
func TraceSIP(w io.Writer) {
	traceMu.Lock()
	defer traceMu.Unlock()
	if w == nil {
		sip.SIPDebug = false
		sip.SIPDebugTracer(nil)
		return
	}
	sip.SIPDebugTracer(&tracer{w: w})
	sip.SIPDebug = true
}

type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *tracer) write(dir, transport, laddr, raddr string, msg []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.w, "=== "+transport+" "+dir+" "+laddr+" "+raddr+" ===\n")
	t.w.Write(RedactSIP(msg))
	io.WriteString(t.w, "\n")
}

func (t *tracer) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	t.write("<-", transport, laddr, raddr, msg)
}

func (t *tracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	t.write("->", transport, laddr, raddr, msg)
}
