package ivr

import (
	"bytes"
	"net"

	"github.com/emiago/sipgo/sip"
)

// RFC 3261 section 18.3: over UDP a message whose Content-Length promises more body than the
// datagram holds is an error; a request SHOULD be answered 400, a response is discarded.
// (Bytes beyond Content-Length are discarded, which sipgo's parser does.) sipgo drops such a
// datagram silently, so the UDP read filter answers it before sipgo sees it.

// bodyCut reports whether datagram data declares a Content-Length larger than the body it
// carries. A datagram without the blank line or with an unreadable Content-Length is left to
// the parser.
func bodyCut(data []byte) bool {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	n, ok := contentLength(data[:end])
	return ok && n > len(data)-end-4
}

// answerCutBody answers a request whose body is shorter than its Content-Length with 400,
// statelessly, to the address it came from. It reports whether the datagram was such a
// message (a request answered, or a response or ACK to discard).
func (s *Server) answerCutBody(data []byte, from *net.UDPAddr) bool {
	if !bodyCut(data) {
		return false
	}
	msg, _, err := sip.NewParser().ParseHeaders(data, false)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok || req.IsAck() {
		return true // unreadable headers, a response or an ACK: nothing to answer
	}
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return true
	}
	req.SetSource(from.String()) // for Via received/rport
	res := sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Content-Length Exceeds Body", nil)
	res.SipVersion = "SIP/2.0"
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	s.metrics.SIPResponse(string(req.Method), sip.StatusBadRequest)
	if _, err := s.udp.WriteTo([]byte(res.String()), from); err != nil {
		s.log.Debug("400 for a cut body not sent", "err", err)
	}
	return true
}
