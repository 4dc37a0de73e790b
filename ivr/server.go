package ivr

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/media"
)

// allowed is the Allow header of every answer: the methods this UAS implements.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY"

// CallIDHeader names the header of the 200 OK that carries paybridge's id of the call (the
// id the console, the admin API and the logs use), so a caller can tie its SIP dialog to the
// server's records; `paybridge call` prints it.
const CallIDHeader = "X-Paybridge-Call-Id"

// Server is paybridge's SIP user agent server: it answers INVITEs over UDP, TCP and (with
// Config.TLSAddr) TLS, runs each call's handler with a *Call, and keeps answering whatever the
// network sends it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics Metrics

	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	dialogs *sipgo.DialogUA // the server's own table (calls) maps dialogs to calls
	contact sip.ContactHeader
	// Calls that arrive on TLS get a Contact on the TLS listener: sips: when the caller's own
	// Contact is a sips: URI, sip:…;transport=tls otherwise (tlsContactSIPS).
	dialogsTLS, dialogsSIPS *sipgo.DialogUA
	contactTLS, contactSIPS sip.ContactHeader

	// modifyAnswered, when set (tests), runs after a re-INVITE or UPDATE has been answered.
	modifyAnswered atomic.Pointer[func()]

	udp  net.PacketConn
	tcp  net.Listener
	tcpG *tcpGuard // tcp with the connection limits
	addr netip.AddrPort

	tlsLn   net.Listener // the TLS listener's TCP socket (nil: no TLS)
	tlsG    *tcpGuard    // TLS connections, with the same limits as TCP
	tlsAddr netip.AddrPort
	ip      netip.Addr // public address for Contact, c= and o=

	ports *media.PortPool
	sched *media.Scheduler
	limit *rateLimiter
	adm   *admission
	bufs  ReceiveBuffers

	udpConn   *net.UDPConn // s.udp, for the kernel's view of its queue
	sipDrops  int64        // the SIP socket's drop counter as last read (monitor only)
	tickDrops atomic.Int64 // drops found since the monitor's last tick

	mu    sync.Mutex
	calls map[string]*Call // by SIP dialog id
	legs  map[string]*Leg  // legs this server placed, by their (UAC) dialog id

	bridgeTotals bridgeTotals
	active       atomic.Int64
	draining     atomic.Bool
	closed       chan struct{}
	closeOne     sync.Once
}

// NewServer binds the SIP sockets (UDP and TCP on the same port) and prepares the server.
// Nothing is answered until Serve.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Router == nil {
		return nil, errors.New("ivr: Config.Router is required")
	}
	if cfg.SIPAddr == "" {
		cfg.SIPAddr = "0.0.0.0:5060"
	}
	if cfg.RTPPortMin == 0 && cfg.RTPPortMax == 0 {
		cfg.RTPPortMin, cfg.RTPPortMax = 10000, 20000
	}
	if cfg.MediaTimeout == 0 {
		cfg.MediaTimeout = 30 * time.Second
	}
	if cfg.RTPReceiveBuffer == 0 {
		cfg.RTPReceiveBuffer = media.DefaultRTPReceiveBuffer
	}
	if cfg.SIPReceiveBuffer == 0 {
		cfg.SIPReceiveBuffer = media.DefaultSIPReceiveBuffer
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "paybridge"
	}
	if err := sipsafe.CheckHeaderValue(cfg.UserAgent); err != nil {
		return nil, fmt.Errorf("ivr: UserAgent: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	if cfg.Prompts == nil {
		cfg.Prompts = PromptFunc(func(string) ([]int16, error) { return nil, ErrUnknownPrompt })
	}
	if cfg.NewDTMF == nil {
		cfg.NewDTMF = defaultDTMF
	}
	if cfg.NewMasker == nil {
		cfg.NewMasker = func() media.Masker { return dtmf.NewMasker(dtmf.MaskerConfig{}) }
	}
	if cfg.Record && cfg.RecordDir == "" {
		return nil, errors.New("ivr: Record needs RecordDir")
	}
	if cfg.Record {
		// Recording every call: a directory that cannot be made is a start-up error, not a
		// warning on every call.
		if err := os.MkdirAll(cfg.RecordDir, 0o700); err != nil {
			return nil, fmt.Errorf("ivr: recordings directory: %w", err)
		}
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger.With("component", "ivr"), metrics: cfg.Metrics,
		calls: map[string]*Call{}, closed: make(chan struct{}), sched: media.NewScheduler(),
		limit: newRateLimiter(cfg.RateLimit, cfg.RateBurst, cfg.AllowList),
	}

	udp, tcp, err := listenSIP(cfg.SIPAddr)
	if err != nil {
		return nil, err
	}
	s.udp, s.tcp = udp, tcp
	s.tcpG = newTCPGuard(tcp, cfg.TCP, s.limit.allowed, s.hasCallFrom)
	s.addr = udp.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := s.listenTLS(); err != nil {
		s.closeSockets()
		return nil, err
	}

	s.ip = cfg.PublicIP
	if !s.ip.IsValid() {
		s.ip = s.addr.Addr().Unmap()
		if s.ip.IsUnspecified() {
			s.ip = outboundIP()
		}
	}
	bindIP := s.addr.Addr().Unmap()
	s.ports, err = media.NewPortPool(bindIP, cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.adm = newAdmission(cfg.MaxCalls, s.ports.Free())
	if cfg.FixedLimit && cfg.MaxCalls > 0 {
		s.adm.fix()
	}
	s.udpConn, _ = udp.(*net.UDPConn)
	s.sizeReceiveBuffers(bindIP)

	sipLog := slog.New(sipsafe.LogHandler(cfg.Logger.Handler())).With("component", "sipgo")
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(s.ip.String()),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)),
	)
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.ip.String()),
		sipgo.WithClientPort(int(s.addr.Port())), sipgo.WithClientLogger(sipLog))
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	s.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "paybridge", Host: s.ip.String(), Port: int(s.addr.Port())}}
	// RewriteContact: in-dialog requests (BYE, REFER) go to where the INVITE came from, not to
	// a Contact that NAT may have made unroutable (unless a Record-Route set says otherwise).
	// sipgo sends them on the transport the INVITE came on: a TLS call's stay on TLS.
	s.dialogs = &sipgo.DialogUA{Client: s.client, ContactHDR: s.contact, RewriteContact: true}
	if s.tlsG != nil {
		port := int(s.tlsAddr.Port())
		params := sip.NewParams()
		params.Add("transport", "tls")
		s.contactTLS = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "paybridge", Host: s.ip.String(), Port: port, UriParams: params}}
		s.contactSIPS = sip.ContactHeader{Address: sip.Uri{Scheme: "sips", User: "paybridge", Host: s.ip.String(), Port: port}}
		s.dialogsTLS = &sipgo.DialogUA{Client: s.client, ContactHDR: s.contactTLS, RewriteContact: true}
		s.dialogsSIPS = &sipgo.DialogUA{Client: s.client, ContactHDR: s.contactSIPS, RewriteContact: true}
	}

	s.srv.OnInvite(s.guard(s.onInvite))
	s.srv.OnAck(s.guard(s.onAck))
	s.srv.OnBye(s.guard(s.onBye))
	s.srv.OnCancel(s.guard(s.onCancel))
	s.srv.OnOptions(s.guard(s.onOptions))
	s.srv.OnInfo(s.guard(s.onInfo))
	s.srv.OnUpdate(s.guard(s.onUpdate))
	s.srv.OnNotify(s.guard(s.onNotify))
	s.srv.OnRefer(s.guard(s.onRefer))
	s.srv.OnNoRoute(s.guard(s.onNotAllowed))
	return s, nil
}

// listenSIP binds UDP and TCP on the same port. With port 0 the UDP port is chosen first and
// TCP may find it taken by another process: then both are retried on a new port.
func listenSIP(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("ivr: SIP UDP: %w", err)
		}
		ap := udp.LocalAddr().(*net.UDPAddr).AddrPort()
		tcp, err := net.Listen("tcp", net.JoinHostPort(ap.Addr().Unmap().String(), strconv.Itoa(int(ap.Port()))))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || try >= 20 {
			return nil, nil, fmt.Errorf("ivr: SIP TCP: %w", err)
		}
	}
}

// listenTLS binds the TLS listener when Config.TLSAddr asks for one. TLS connections pass
// the same guard as TCP ones (limits per source, half-open and slow connections), above the
// TLS layer: the guard sees SIP messages, and a handshake that never completes is a
// connection that never completes its first message.
func (s *Server) listenTLS() error {
	if s.cfg.TLSAddr == "" {
		return nil
	}
	if s.cfg.TLS == nil {
		return errors.New("ivr: Config.TLSAddr needs Config.TLS (a certificate)")
	}
	if s.cfg.TLS.MinVersion < tls.VersionTLS12 {
		return errors.New("ivr: Config.TLS must have MinVersion TLS 1.2 or later")
	}
	ln, err := net.Listen("tcp", s.cfg.TLSAddr)
	if err != nil {
		return fmt.Errorf("ivr: SIP TLS: %w", err)
	}
	s.tlsLn = ln
	s.tlsAddr = ln.Addr().(*net.TCPAddr).AddrPort()
	s.tlsG = newTCPGuard(tls.NewListener(ln, s.cfg.TLS), s.cfg.TCP, s.limit.allowed, s.hasCallFrom)
	return nil
}

// Addr is the bound SIP address (UDP and TCP).
func (s *Server) Addr() netip.AddrPort { return s.addr }

// TLSAddr is the bound SIP over TLS address (invalid without a TLS listener).
func (s *Server) TLSAddr() netip.AddrPort { return s.tlsAddr }

// PublicIP is the address used in Contact and SDP.
func (s *Server) PublicIP() netip.Addr { return s.ip }

// ActiveCalls is the number of calls up or being set up.
func (s *Server) ActiveCalls() int { return int(s.active.Load()) }

// TCPStats reports the SIP TCP connections open now and what the limits closed.
func (s *Server) TCPStats() TCPStats { return s.tcpG.stats() }

// TLSStats reports the same for SIP over TLS (zero without a TLS listener).
func (s *Server) TLSStats() TCPStats {
	if s.tlsG == nil {
		return TCPStats{}
	}
	return s.tlsG.stats()
}

// hasCallFrom reports whether a call in progress was set up from the transport address
// raddr (its TCP connection then stays open however quiet).
func (s *Server) hasCallFrom(raddr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.remote == raddr && !c.isEnded() {
			return true
		}
	}
	return false
}

// SendJitter summarises how late RTP packets left relative to their schedule.
func (s *Server) SendJitter() media.JitterSnapshot { return s.sched.Jitter() }

// Serve answers SIP on UDP and TCP until ctx is done or Close is called. It returns nil when
// stopped that way.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- s.srv.ServeUDP(s.udp) }()
	go func() { errc <- s.srv.ServeTCP(s.tcpG) }()
	go s.monitor()
	if s.tlsG != nil {
		go func() { errc <- s.srv.ServeTLS(s.tlsG) }()
		s.log.Info("SIP over TLS listening", "addr", s.tlsAddr.String())
	}
	s.log.Info("SIP listening", "addr", s.addr.String(), "public_ip", s.ip.String())
	select {
	case <-ctx.Done():
		s.Close()
		return nil
	case <-s.closed:
		return nil
	case err := <-errc:
		select {
		case <-s.closed:
			return nil
		default:
		}
		s.Close()
		return err
	}
}

// ReasonDraining is the reason phrase of the 503 a draining server answers INVITE and OPTIONS
// with. A proxy tells it from the 503 "Service Unavailable" of a server that is full for the
// moment (MaxCalls, no free RTP port): a draining node is taken out of rotation, a full one is
// only skipped for that call (deploy/kamailio/kamailio.cfg).
const ReasonDraining = "Draining"

// Drain refuses new calls with 503 and waits for the calls in progress to end. When ctx ends
// first the remaining calls are hung up (cause "shutdown") and ctx's error is returned.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
			s.hangupAll("shutdown")
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close hangs up every call, stops the listeners and the media scheduler.
func (s *Server) Close() error {
	s.closeOne.Do(func() {
		s.draining.Store(true)
		s.hangupAll("shutdown")
		close(s.closed)
		s.closeSockets()
		s.ua.Close()
		s.sched.Close()
	})
	return nil
}

func (s *Server) closeSockets() {
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
}

func (s *Server) hangupAll(cause string) {
	s.mu.Lock()
	calls := make([]*Call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c.Hangup(ctx, cause)
		}()
	}
	wg.Wait()
}

// guard wraps every handler: it recovers panics (500), checks the headers every request must
// carry (400) and applies the per-source limits to TCP (UDP is filtered before parsing).
func (s *Server) guard(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				// The panic value is not logged: it could hold request data.
				s.log.Error("SIP handler panicked", "method", string(req.Method), "panic_type", fmt.Sprintf("%T", r))
				if tx != nil && !req.IsAck() {
					s.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
				}
			}
		}()
		if req.Transport() != "UDP" && req.Transport() != "udp" {
			if !s.limit.admit(sourceAddr(req), []byte(userAgentOf(req)), req.Method) {
				return
			}
		}
		if code, reason := validateRequest(req); code != 0 {
			if tx != nil && !req.IsAck() {
				var hdrs []sip.Header
				if code == sip.StatusBadExtension {
					hdrs = append(hdrs, sip.NewHeader("Unsupported", unsupportedRequire(req)))
				}
				s.respond(tx, req, code, reason, hdrs...)
			}
			return
		}
		if c := s.callFor(req); c != nil && c.tls && !isTLS(req) {
			// A call set up over TLS takes its in-dialog requests over TLS only: an INFO with
			// keys, a re-INVITE with new SRTP keys or a BYE in plaintext is refused, never
			// acted on.
			s.log.Warn("in-dialog request of a TLS call over a plaintext transport refused",
				"call_id", c.ID(), "method", string(req.Method), "transport", req.Transport(), "source", req.Source())
			if tx != nil && !req.IsAck() {
				s.respond(tx, req, sip.StatusForbidden, "Forbidden", sip.NewHeader("Warning",
					warning(s.ip, errors.New("this dialog was set up over TLS: its requests must come over TLS"))))
			}
			return
		}
		h(req, tx)
	}
}

// respond sends a stateful response built from req.
func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // also when refusing another version (505)
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.metrics.SIPResponse(string(req.Method), code)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("SIP respond failed", "method", string(req.Method), "code", code, "err", err)
	}
}

// onOptions answers keepalives and a dispatcher's probes (Kamailio's dispatcher sends OPTIONS
// to each node): 200 while the server takes calls, 503 "Draining" once it is draining, so that
// the proxy stops sending it new calls before it stops, and 503 "Service Unavailable" while it
// is full.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if s.draining.Load() {
		s.respond(tx, req, sip.StatusServiceUnavailable, ReasonDraining, sip.NewHeader("Retry-After", "30"), sip.NewHeader("Allow", allowed))
		return
	}
	// A dispatcher probes with OPTIONS: while a new call would be refused, so is the probe, with
	// the same answer (RFC 3261 §11.2) — the call limit, or no RTP port left to give it.
	if s.adm.full(s.active.Load()) || s.ports.Free() == 0 {
		s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable", sip.NewHeader("Retry-After", s.retryAfter()),
			sip.NewHeader("Allow", allowed))
		return
	}
	s.respond(tx, req, sip.StatusOK, "OK",
		sip.NewHeader("Allow", allowed), sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onNotAllowed(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", allowed))
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	// We send REFERs (Transfer); we do not accept being transferred.
	if c := s.callFor(req); c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(tx, req, sip.StatusForbidden, "Forbidden")
}

// callFor finds the call an in-dialog request belongs to.
func (s *Server) callFor(req *sip.Request) *Call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReinvite(req, tx)
		return
	}
	if s.draining.Load() {
		s.metrics.CallRefused(RefusedDraining)
		s.respond(tx, req, sip.StatusServiceUnavailable, ReasonDraining, sip.NewHeader("Retry-After", "30"))
		return
	}
	if req.Contact() == nil {
		s.respond(tx, req, sip.StatusBadRequest, "Missing Contact")
		return
	}
	if !acceptsSDP(req) {
		s.respond(tx, req, sip.StatusNotAcceptable, "Not Acceptable", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	body, ok := sdpBody(req)
	if !ok {
		s.respond(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	to := dialledNumber(req)
	handler, ok := s.cfg.Router.Route(to)
	if !ok {
		s.respond(tx, req, sip.StatusNotFound, "Not Found")
		return
	}
	policy := s.cfg.SRTP.For(req.Transport())
	if s.cfg.PlanSRTP != nil {
		policy = max(policy, s.cfg.PlanSRTP(to))
	}
	var offer *media.SessionSDP
	var params media.Params
	if len(body) > 0 {
		var err error
		offer, err = media.ParseSDP(body)
		if err == nil {
			params, err = media.NegotiateWith(offer, policy)
		}
		if err != nil {
			offer.Zero()
			s.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", warning(s.ip, err)))
			return
		}
	}

	if ok, reason := s.adm.tryAdmit(&s.active); !ok {
		s.metrics.CallRefused(reason)
		s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable", sip.NewHeader("Retry-After", s.retryAfter()))
		return
	}
	started := time.Now()
	trying := sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil)
	tx.Respond(trying)

	conn, port, err := s.ports.Get()
	if err != nil {
		s.active.Add(-1)
		s.log.Warn("refusing call", "err", err)
		s.metrics.CallRefused(RefusedNoPorts)
		s.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
		return
	}
	dua := s.dialogs
	if isTLS(req) {
		dua = s.dialogsTLS
		if tlsContactSIPS(req) {
			dua = s.dialogsSIPS
		}
	}
	dlg, err := dua.ReadInvite(req, tx)
	if err != nil {
		offer.Zero()
		conn.Close()
		s.ports.Put(port)
		s.active.Add(-1)
		s.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c := newCall(s, dlg, req, conn, started, policy)
	s.mu.Lock()
	s.calls[dlg.ID] = c
	s.mu.Unlock()
	s.metrics.CallStarted()

	if s.cfg.RingTime > 0 {
		s.metrics.SIPResponse("INVITE", sip.StatusRinging)
		dlg.Respond(sip.StatusRinging, "Ringing", nil)
		select {
		case <-time.After(s.cfg.RingTime):
		case <-dlg.Context().Done():
			// CANCEL (sipgo answers 200 to it and 487 to the INVITE) or transaction death.
			c.finish("caller-cancelled", false)
			return
		}
	}

	local := media.LocalMedia{IP: s.ip, Port: port, SessionID: c.sdpID, Version: c.sdpVersion}
	var answer []byte
	if offer != nil {
		c.offer = offer
		if err := c.media.SetParams(params); err != nil {
			s.metrics.SIPResponse("INVITE", sip.StatusNotAcceptableHere)
			dlg.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil, sip.NewHeader("Warning", warning(s.ip, err)))
			c.finish("refused-sdp", false)
			return
		}
		local.Crypto = c.media.LocalCrypto()
		answer = media.BuildAnswer(offer, params, local)
	} else {
		c.lateOffer = true
		if policy != media.SRTPOff {
			// Our offer: RTP/SAVP under required; under optional "best effort" RTP/AVP with
			// a=crypto, which a caller without SDES answers plainly.
			cryptos, err := c.media.OfferCryptos(media.DefaultSuites)
			if err != nil {
				s.metrics.SIPResponse("INVITE", sip.StatusInternalServerError)
				dlg.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
				c.finish("internal-error", false)
				return
			}
			local.Cryptos, local.BestEffortSRTP = cryptos, policy == media.SRTPOptional
		}
		answer = media.BuildOffer(local)
	}
	c.localSDP = answer
	s.metrics.SIPResponse("INVITE", sip.StatusOK)
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, answer)
	res.AppendHeader(sip.NewHeader(CallIDHeader, c.ID()))
	if err := dlg.WriteResponse(res); err != nil {
		select {
		case <-dlg.Context().Done():
			c.finish("caller-cancelled", false)
		default:
			c.finish("no-ack", true)
		}
		return
	}
	if c.lateOffer && !c.lateAnswered.Load() {
		c.finish("no-sdp-answer", true)
		return
	}
	c.answered(handler)
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c := s.callFor(req)
	if c == nil {
		return // no call (or the ACK of a leg's re-INVITE answer: nothing to do)
	}
	if c.lateOffer && !c.lateAnswered.Load() {
		if body, ok := sdpBody(req); ok && len(body) > 0 {
			if sd, err := media.ParseSDP(body); err == nil {
				if p, err := media.NegotiateWith(sd, c.policy); err == nil && c.media.SetParams(p) == nil {
					c.offer = sd
					c.lateAnswered.Store(true)
				} else {
					sd.Zero()
				}
			}
		}
	}
	c.ackReceived(req)
	c.dialog.ReadAck(req, tx)
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if s.legRequest(req, tx) {
		return
	}
	c := s.callFor(req)
	if c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	s.metrics.SIPResponse("BYE", sip.StatusOK)
	if err := c.dialog.ReadBye(req, tx); err != nil {
		s.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		return
	}
	c.finish("caller-hangup", false)
}

func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	// A CANCEL that matched an INVITE transaction never gets here (the transaction layer
	// answers it and the dialog context ends); this one matched nothing.
	s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if s.legRequest(req, tx) {
		return
	}
	c := s.callFor(req)
	if c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
	}
	switch ct {
	case "application/dtmf-relay", "application/dtmf":
	case "":
		s.respond(tx, req, sip.StatusOK, "OK") // keep-alive INFO
		return
	default:
		s.respond(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	// The INFO is answered before its key is delivered: the key may end the call (the last
	// digit of a card), and the caller must have its 200 before our BYE (SIPp, strictly
	// scripted, aborts on a BYE that overtakes it).
	if _, _, err := dtmf.ParseInfo(ct, req.Body()); err != nil {
		s.respond(tx, req, sip.StatusBadRequest, "Bad DTMF Body")
		return
	}
	s.respond(tx, req, sip.StatusOK, "OK")
	_ = c.infoDTMF(ct, req.Body()) // parsed above; a call that ended meanwhile takes no key
}

func (s *Server) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	c := s.callFor(req)
	if c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
		return
	}
	s.respond(tx, req, sip.StatusOK, "OK")
	c.notify(req)
}

func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if s.legRequest(req, tx) {
		return
	}
	c := s.callFor(req)
	if c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.modify(req, tx, false)
}

func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	if s.legRequest(req, tx) {
		return
	}
	c := s.callFor(req)
	if c == nil {
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.modify(req, tx, true)
}

// recordPath is where call id's recording goes.
func (s *Server) recordPath(id string) string {
	return filepath.Join(s.cfg.RecordDir, id+".wav")
}

func (s *Server) remove(c *Call) {
	s.mu.Lock()
	delete(s.calls, c.dialog.ID)
	s.mu.Unlock()
}

func newCallID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tlsContactSIPS reports whether a TLS call is answered with a sips: Contact: when the
// caller's own Contact is one. RFC 3261 (section 12.1.1) asks for a sips: Contact whenever the
// Request-URI is sips:, but user agents that send a sip:…;transport=tls Contact themselves
// often cannot route to a sips: one (baresip 1.0's libre refuses to send to it, so the ACK
// never leaves and the call drops): their in-dialog requests come back on TLS either way,
// and paybridge refuses them on any other transport.
func tlsContactSIPS(req *sip.Request) bool {
	c := req.Contact()
	return c != nil && strings.EqualFold(c.Address.Scheme, "sips")
}

// isTLS reports whether req came over TLS.
func isTLS(req *sip.Request) bool { return strings.EqualFold(req.Transport(), "TLS") }

func warning(ip netip.Addr, err error) string {
	// Warning: 304 host "text" (RFC 3261 section 20.43); the text is our own error text.
	text := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, err.Error())
	return fmt.Sprintf("304 %s \"%s\"", ip.String(), text)
}

// outboundIP is the address the host would use to reach the internet (no packet is sent),
// falling back to loopback.
func outboundIP() netip.Addr {
	c, err := net.Dial("udp", "192.0.2.1:9")
	if err == nil {
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return a.AddrPort().Addr().Unmap()
		}
	}
	return netip.MustParseAddr("127.0.0.1")
}
