package ivr

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/media"
)

// singleHeaders may appear once (RFC 3261 section 7.3.1 and the torture tests multi01/mcl01).
var singleHeaders = []string{"Call-ID", "From", "To", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// validateRequest checks what sipgo's parser lets through: the mandatory headers, their
// multiplicity, CSeq/method agreement and the SIP version. It returns 0 when the request is
// fine, or the status and reason to answer.
func validateRequest(req *sip.Request) (int, string) {
	if req.SipVersion != "SIP/2.0" {
		return sip.StatusVersionNotSupported, "Version Not Supported"
	}
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil {
		return sip.StatusBadRequest, "Missing Mandatory Header"
	}
	if string(*req.CallID()) == "" {
		return sip.StatusBadRequest, "Empty Call-ID"
	}
	for _, h := range singleHeaders {
		if len(req.GetHeaders(h)) > 1 {
			return sip.StatusBadRequest, "Duplicate " + h
		}
	}
	// sipgo upper-cases the request-line method but not CSeq's (RFC 4475 intmeth).
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return sip.StatusBadRequest, "CSeq Method Mismatch"
	}
	if req.IsAck() || req.IsCancel() {
		return 0, ""
	}
	if len(req.Recipient.Headers) > 0 {
		return sip.StatusBadRequest, "Headers Not Allowed In Request-URI"
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "tel":
	case "sips":
		// A SIPS URI asks for TLS on every hop (RFC 3261 section 26.2.2): it is taken over
		// TLS only.
		if !strings.EqualFold(req.Transport(), "TLS") {
			return statusUnsupportedURIScheme, "SIPS Request-URI Needs TLS"
		}
	default:
		return statusUnsupportedURIScheme, "Unsupported URI Scheme"
	}
	if unsup := unsupportedRequire(req); unsup != "" {
		return sip.StatusBadExtension, "Bad Extension"
	}
	if cl := req.ContentLength(); cl != nil && int(*cl) != len(req.Body()) {
		return sip.StatusBadRequest, "Content-Length Mismatch"
	}
	return 0, ""
}

// unsupportedRequire returns the Require options we do not support ("" when none). paybridge
// supports no extension that a caller may require.
func unsupportedRequire(req *sip.Request) string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for _, opt := range strings.Split(h.Value(), ",") {
			if opt = strings.TrimSpace(opt); opt != "" {
				out = append(out, opt)
			}
		}
	}
	return strings.Join(out, ", ")
}

// acceptsSDP reports whether the caller can take an SDP body in our answer.
func acceptsSDP(req *sip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			t = strings.ToLower(strings.TrimSpace(strings.Split(t, ";")[0]))
			if t == "" || t == "application/sdp" || t == "application/*" || t == "*/*" {
				return true
			}
		}
	}
	return false
}

// sdpBody extracts the SDP of a request: the body itself for application/sdp, the
// application/sdp part of a multipart/mixed body. ok is false for a body of another type.
func sdpBody(req *sip.Request) ([]byte, bool) {
	body := req.Body()
	if len(body) == 0 {
		return nil, true
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, false
	}
	switch mt {
	case "application/sdp":
		return body, true
	case "multipart/mixed", "multipart/related", "multipart/alternative":
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for i := 0; i < 8; i++ {
			p, err := r.NextPart()
			if err != nil {
				return nil, false
			}
			pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if pt == "application/sdp" {
				var b bytes.Buffer
				if _, err := b.ReadFrom(p); err != nil || b.Len() > media.MaxSDPSize {
					return nil, false
				}
				return b.Bytes(), true
			}
		}
	}
	return nil, false
}

// dialledNumber is the Request-URI user: "+441632960000" from sip:+441632960000@host, the
// number of a tel: URI. URI parameters in the user part (RFC 4475 semiuri) are dropped.
func dialledNumber(req *sip.Request) string {
	u := req.Recipient
	user := u.User
	if strings.EqualFold(u.Scheme, "tel") && user == "" {
		user = u.Raw()
		if user == "" {
			user = u.Host
		}
	}
	user, _, _ = strings.Cut(user, ";")
	return user
}

// sourceAddr is the IP the request came from.
func sourceAddr(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func userAgentOf(req *sip.Request) string {
	if h := req.GetHeader("User-Agent"); h != nil {
		return "User-Agent: " + h.Value()
	}
	return ""
}
