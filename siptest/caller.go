package siptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/internal/tlsconf"
	"github.com/paybridge/paybridge/media"
)

// ServerCallIDHeader names the header of a paybridge 200 OK that carries the server's id of
// the call (ivr.CallIDHeader; cmd/paybridge's call test holds the two together). The caller
// reports it as CallerResult.ServerCallID.
const ServerCallIDHeader = "X-Paybridge-Call-Id"

// DTMF modes of the test caller.
const (
	DTMFRFC4733 = "rfc4733"
	DTMFInband  = "inband"
	DTMFInfo    = "info"
)

// CallerConfig describes one test call (`paybridge call`).
type CallerConfig struct {
	Target    string // sip:USER@HOST:PORT, or sips:USER@HOST:PORT (TLS)
	From      string // caller number (From user); default "paybridge-call"
	Transport string // "udp" (default), "tcp" or "tls" (the default for a sips: target)
	LocalIP   netip.Addr

	// TLS is the client configuration over TLS (tlsconf.Client: the CA to trust, or none for
	// the system's; InsecureSkipVerify for a throwaway certificate). nil: paybridge's policy
	// with the system's roots. A certificate that does not check out ends the call before the
	// INVITE leaves, with the reason in plain words.
	TLS *tls.Config
	// SRTP offers RTP/SAVP with one a=crypto line (a fresh key) per suite, in this order, and
	// requires the answer to pick one; nil offers plain RTP/AVP.
	SRTP []media.SRTPSuite

	// Digits is a digit script (ParseDigitScript). The caller waits for the answer and the
	// first prompt audio before keying it.
	Digits string
	// DTMF is how digits are sent: rfc4733 (default), inband or info.
	DTMF string
	// DigitOn and DigitOff are each key's duration and the pause after it (default 100 ms
	// each).
	DigitOn, DigitOff time.Duration
	// Proceed releases the script's '|' steps, one value each: a test keys a field only once
	// the far end is ready for it, however slow the machine. Required when the script waits.
	Proceed <-chan struct{}
	// PromptWait bounds the wait for the first prompt before keying anyway (default 5 s).
	PromptWait time.Duration
	// Play is 8 kHz PCM streamed as the caller's audio instead of digits.
	Play []int16
	// PlayRTP are recorded RTP packets (from a pcap) replayed with their timing, restamped
	// onto this call's SSRC and sequence.
	PlayRTP []RecordedRTP

	// Hangup hangs up after the script or playback (plus HangupAfter); otherwise the caller
	// waits for the far end to hang up, until Timeout.
	Hangup      bool
	HangupAfter time.Duration
	// Timeout bounds the whole call (default 60 s).
	Timeout time.Duration

	// Heard, when set, receives what the caller heard (8 kHz PCM) after the call.
	Heard  func(pcm []int16)
	Logger *slog.Logger
}

// RecordedRTP is one RTP packet of a recording: when it was sent relative to the first, and
// the packet.
type RecordedRTP struct {
	At     time.Duration
	Packet []byte
}

// CallerResult is the JSON summary of a test call. It never contains a digit: only counts.
type CallerResult struct {
	// ServerCallID is the id the paybridge that answered gave the call (its X-Paybridge-Call-Id
	// header): the call's id in the console, the admin API and the logs.
	ServerCallID string `json:"call_id,omitempty"`
	CallID       string `json:"sip_call_id,omitempty"`
	Target       string `json:"target"`
	Transport    string `json:"transport"`
	SRTP         string `json:"srtp,omitempty"` // the crypto suite of the media; "" for plain RTP
	Status       int    `json:"status"`
	Reason       string `json:"reason,omitempty"`
	Answered     bool   `json:"answered"`
	Codec        string `json:"codec,omitempty"`
	EventPT      int    `json:"telephone_event_pt"`
	DTMF         string `json:"dtmf,omitempty"`
	DigitsSent   int    `json:"digits_sent"`
	PromptHeard  bool   `json:"prompt_heard"`
	RTPSent      int64  `json:"rtp_sent"`
	RTPReceived  int64  `json:"rtp_received"`
	HeardMS      int64  `json:"heard_ms"`
	HangupBy     string `json:"hangup_by,omitempty"` // "remote" | "local"
	AnswerMS     int64  `json:"answer_ms"`
	DurationMS   int64  `json:"duration_ms"`
	TimedOut     bool   `json:"timed_out,omitempty"`
	Error        string `json:"error,omitempty"`
	SendLateMax  int64  `json:"send_late_max_us"`
	// SRTPAuthFailed counts packets from the far end (its media address) that failed SRTP
	// authentication. RTPForeign counts the datagrams from any other address that did not
	// authenticate: stray traffic on a busy host (a port another call used a moment ago),
	// not a failure of the far end.
	SRTPAuthFailed int64  `json:"srtp_auth_failed,omitempty"`
	RTPForeign     int64  `json:"rtp_foreign,omitempty"`
	FarEndBYEMS    int64  `json:"far_end_bye_ms,omitempty"`
	MediaAddress   string `json:"media_address,omitempty"`
}

// Dial places a test call and returns its summary. A call that was refused or failed is
// still a result (Status, Error); err is for calls that could not be attempted at all.
func Dial(ctx context.Context, cfg CallerConfig) (*CallerResult, error) {
	if cfg.DTMF == "" {
		cfg.DTMF = DTMFRFC4733
	}
	switch cfg.DTMF {
	case DTMFRFC4733, DTMFInband, DTMFInfo:
	default:
		return nil, fmt.Errorf("siptest: DTMF must be rfc4733, inband or info")
	}
	script, err := ParseDigitScript(cfg.Digits)
	if err != nil {
		return nil, err
	}
	if cfg.Proceed == nil && slices.ContainsFunc(script, func(st ScriptStep) bool { return st.Wait }) {
		return nil, fmt.Errorf("siptest: the digit script waits ('|') but nothing can tell it to go on")
	}
	if cfg.From == "" {
		cfg.From = "paybridge-call"
	}
	if err := sipsafe.CheckHeaderValue(cfg.From); err != nil {
		return nil, err
	}
	var target sip.Uri
	if err := sip.ParseUri(cfg.Target, &target); err != nil {
		return nil, fmt.Errorf("siptest: target %q: %w", cfg.Target, err)
	}
	sips := strings.EqualFold(target.Scheme, "sips")
	switch {
	case cfg.Transport == "" && sips:
		cfg.Transport = "tls"
	case cfg.Transport == "":
		cfg.Transport = "udp"
	case sips && cfg.Transport != "tls":
		return nil, fmt.Errorf("siptest: a sips: target is dialled over TLS, not %s", cfg.Transport)
	}
	switch cfg.Transport {
	case "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("siptest: transport must be udp, tcp or tls")
	}
	if cfg.DigitOn <= 0 {
		cfg.DigitOn = 100 * time.Millisecond
	}
	if cfg.DigitOff <= 0 {
		cfg.DigitOff = 100 * time.Millisecond
	}
	if cfg.PromptWait <= 0 {
		cfg.PromptWait = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if target.Port == 0 {
		target.Port = 5060
		if cfg.Transport == "tls" {
			target.Port = 5061
		}
	}
	if cfg.Transport == "tls" && cfg.TLS == nil {
		var err error
		if cfg.TLS, err = tlsconf.Client(tlsconf.ClientOptions{}); err != nil {
			return nil, err
		}
	}
	if !cfg.LocalIP.IsValid() {
		cfg.LocalIP = localIPFor(net.JoinHostPort(target.Host, strconv.Itoa(target.Port)))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	c := &caller{cfg: cfg, script: script, res: &CallerResult{Target: cfg.Target, Transport: cfg.Transport, DTMF: cfg.DTMF, EventPT: -1}}
	err = c.run(ctx, target)
	if err != nil {
		c.res.Error = err.Error()
	}
	return c.res, nil
}

// waitAnswer waits for the final response to the INVITE until ctx is done. When nothing at
// all has answered by then there is nothing to CANCEL (RFC 3261 section 9.1): the transaction
// is dropped at once — not after Timer B's 32 s — and the error says no one answered.
func (c *caller) waitAnswer(ctx context.Context, sess *sipgo.DialogClientSession, target sip.Uri) error {
	var answered atomic.Bool
	wctx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	go func() {
		select {
		case <-ctx.Done():
			if answered.Load() {
				stop(ctx.Err()) // ringing: sipgo CANCELs the INVITE
			} else {
				stop(sipgo.WaitAnswerForceCancelErr)
			}
		case <-wctx.Done():
		}
	}()
	err := sess.WaitAnswer(wctx, sipgo.AnswerOptions{OnResponse: func(*sip.Response) error {
		answered.Store(true)
		return nil
	}})
	if err == nil || answered.Load() {
		if err != nil && !errors.As(err, new(*sipgo.ErrDialogResponse)) {
			return fmt.Errorf("waiting for answer: %w", err)
		}
		return err
	}
	where := net.JoinHostPort(target.Host, strconv.Itoa(target.Port))
	if ctx.Err() != nil {
		c.res.TimedOut = true
		return fmt.Errorf("no answer from %s within %v", where, c.cfg.Timeout)
	}
	return fmt.Errorf("no answer from %s (no SIP response to the INVITE in %v)", where, 64*sip.T1)
}

type caller struct {
	cfg    CallerConfig
	script []ScriptStep
	res    *CallerResult

	rtpConn *net.UDPConn
	params  media.Params
	sec     *media.SRTP // nil: plain RTP
	wbuf    []byte      // the sender's SRTP scratch
	remote  atomic.Pointer[netip.AddrPort]
	ssrc    uint32
	seq     uint16
	ts      uint32

	mu         sync.Mutex
	heard      []int16
	prompt     chan struct{}
	promptOne  sync.Once
	received   atomic.Int64
	sent       atomic.Int64
	srtpFailed atomic.Int64
	foreign    atomic.Int64

	// outgoing: the sender loop takes work from here
	work chan func(*senderState) bool
	bye  chan struct{}
}

type senderState struct {
	c       *caller
	pcm     []int16 // queued audio
	events  []dtmf.SenderPacket
	evStart int // frame index the event started at
	frame   int
}

func (c *caller) run(ctx context.Context, target sip.Uri) error {
	start := time.Now()
	ip := c.cfg.LocalIP.String()
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("paybridge-call"), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(slog.New(sipsafe.LogHandler(c.cfg.Logger.Handler()))))}
	if c.cfg.TLS != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(c.cfg.TLS))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slog.New(sipsafe.LogHandler(c.cfg.Logger.Handler()))))
	if err != nil {
		return err
	}
	var sipPort int
	switch c.cfg.Transport {
	case "udp":
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return err
		}
		defer pc.Close()
		sipPort = pc.LocalAddr().(*net.UDPAddr).Port
		go srv.ServeUDP(pc)
	case "tcp":
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return err
		}
		defer l.Close()
		sipPort = l.Addr().(*net.TCPAddr).Port
		go srv.ServeTCP(l)
	case "tls":
		// No listener: the far end's requests (BYE) come back on this caller's connection,
		// as paybridge sends them (it never opens a new one to a caller, let alone a plain one).
	}
	clientOpts := []sipgo.ClientOption{sipgo.WithClientHostname(ip), sipgo.WithClientLogger(slog.New(sipsafe.LogHandler(c.cfg.Logger.Handler())))}
	if sipPort != 0 {
		clientOpts = append(clientOpts, sipgo.WithClientPort(sipPort))
	}
	client, err := sipgo.NewClient(ua, clientOpts...)
	if err != nil {
		return err
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: c.cfg.From, Host: ip, Port: sipPort}}
	switch {
	case c.cfg.Transport == "tls" && strings.EqualFold(target.Scheme, "sips"):
		contact.Address.Scheme = "sips"
	case c.cfg.Transport != "udp":
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", c.cfg.Transport)
		if target.UriParams == nil {
			target.UriParams = sip.NewParams()
		}
		target.UriParams.Add("transport", c.cfg.Transport)
	}
	dc := sipgo.NewDialogClientCache(client, contact)
	c.bye = make(chan struct{})
	var byeOnce sync.Once
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := dc.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		byeOnce.Do(func() { close(c.bye) })
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
	})

	c.rtpConn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.cfg.LocalIP, 0)))
	if err != nil {
		return err
	}
	defer c.rtpConn.Close()
	rtpPort := c.rtpConn.LocalAddr().(*net.UDPAddr).Port
	local := media.LocalMedia{IP: c.cfg.LocalIP, Port: rtpPort, SessionID: rand.Uint64() >> 1, Version: 1}
	if len(c.cfg.SRTP) > 0 {
		if local.Cryptos, err = media.NewOfferCryptos(c.cfg.SRTP); err != nil {
			return err
		}
	}
	offer := media.BuildOffer(local)
	defer func() {
		for _, k := range local.Cryptos {
			k.Zero()
		}
		clear(offer)
	}()

	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.cfg.From, Host: ip}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	hdrs := []sip.Header{sip.NewHeader("Content-Type", "application/sdp"), from}
	if c.cfg.Transport == "tls" {
		// The Via names the transport: sipgo picks it from there (a sips: Request-URI alone
		// would leave it on UDP), and so do the ACK, INFO and BYE of the dialog.
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: ip, Params: sip.NewParams()}
		via.Params.Add("branch", sip.GenerateBranchN(16))
		via.Params.Add("rport", "")
		hdrs = append(hdrs, via)
	}
	sess, err := dc.Invite(ctx, target, offer, hdrs...)
	if err != nil {
		if c.cfg.Transport == "tls" {
			return fmt.Errorf("INVITE over TLS to %s:%d: %w", target.Host, target.Port, tlsconf.Explain(err))
		}
		return fmt.Errorf("INVITE: %w", err)
	}
	defer sess.Close()
	c.res.CallID = string(*sess.InviteRequest.CallID())
	err = c.waitAnswer(ctx, sess, target)
	if sess.InviteResponse != nil {
		c.res.Status = sess.InviteResponse.StatusCode
		c.res.Reason = sess.InviteResponse.Reason
		if h := sess.InviteResponse.GetHeader(ServerCallIDHeader); h != nil {
			c.res.ServerCallID = h.Value()
		}
	}
	if err != nil {
		var re *sipgo.ErrDialogResponse
		if errors.As(err, &re) {
			return nil // refused: Status says how
		}
		return err
	}
	c.res.Answered = true
	c.res.AnswerMS = time.Since(start).Milliseconds()
	ans, err := media.ParseSDP(sess.InviteResponse.Body())
	policy := media.SRTPOff
	if len(c.cfg.SRTP) > 0 {
		policy = media.SRTPRequired
	}
	if err == nil {
		c.params, err = media.NegotiateWith(ans, policy)
	}
	if err == nil && c.params.Crypto != nil {
		err = c.keys(local.Cryptos)
	}
	ans.Zero()
	if err != nil {
		sess.Ack(ctx)
		sess.Bye(context.Background())
		return fmt.Errorf("answer SDP: %w", err)
	}
	if c.sec != nil {
		defer c.sec.Zero()
		c.res.SRTP = c.sec.Suite().String()
	}
	if err := sess.Ack(ctx); err != nil {
		return fmt.Errorf("ACK: %w", err)
	}
	c.res.Codec = c.params.Codec.Name()
	c.res.EventPT = c.params.EventPT
	r := c.params.Remote
	c.remote.Store(&r)
	c.res.MediaAddress = r.String()

	c.prompt = make(chan struct{})
	c.work = make(chan func(*senderState) bool, 1)
	c.ssrc, c.seq, c.ts = rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	mediaCtx, stopMedia := context.WithCancel(context.Background())
	var mediaWG sync.WaitGroup
	mediaWG.Add(2)
	go func() { defer mediaWG.Done(); c.readRTP(mediaCtx) }()
	go func() { defer mediaWG.Done(); c.sendLoop(mediaCtx) }()

	scriptErr := c.perform(ctx, sess)

	hungUp := false
	if scriptErr == nil && c.cfg.Hangup {
		select {
		case <-time.After(c.cfg.HangupAfter):
		case <-c.bye:
		case <-ctx.Done():
		}
	} else if scriptErr == nil {
		select {
		case <-c.bye:
		case <-ctx.Done():
			c.res.TimedOut = true
		}
	}
	select {
	case <-c.bye:
		c.res.HangupBy = "remote"
		c.res.FarEndBYEMS = time.Since(start).Milliseconds()
		hungUp = true
	default:
	}
	stopMedia()
	c.rtpConn.SetReadDeadline(time.Now())
	mediaWG.Wait()
	if !hungUp {
		c.res.HangupBy = "local"
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sess.Bye(bctx)
		cancel()
	}
	c.res.DurationMS = time.Since(start).Milliseconds()
	c.res.RTPSent = c.sent.Load()
	c.res.RTPReceived = c.received.Load()
	c.res.SRTPAuthFailed = c.srtpFailed.Load()
	c.res.RTPForeign = c.foreign.Load()
	c.mu.Lock()
	c.res.HeardMS = int64(len(c.heard)) / 8
	heard := c.heard
	c.mu.Unlock()
	if c.cfg.Heard != nil {
		c.cfg.Heard(heard)
	}
	return scriptErr
}

// perform runs the digit script or the playback.
func (c *caller) perform(ctx context.Context, sess *sipgo.DialogClientSession) error {
	if len(c.cfg.PlayRTP) > 0 {
		return c.replayRTP(ctx)
	}
	if len(c.cfg.Play) > 0 {
		return c.enqueuePCM(ctx, c.cfg.Play)
	}
	if len(c.script) == 0 {
		return nil
	}
	select {
	case <-c.prompt:
		c.res.PromptHeard = true
	case <-time.After(c.cfg.PromptWait):
	case <-c.bye:
		return nil
	case <-ctx.Done():
		return nil
	}
	for _, st := range c.script {
		if st.Wait {
			select {
			case <-c.cfg.Proceed:
				continue
			case <-c.bye:
				return nil
			case <-ctx.Done():
				return nil
			}
		}
		if st.Digit == 0 {
			select {
			case <-time.After(st.Pause):
				continue
			case <-c.bye:
				return nil
			case <-ctx.Done():
				return nil
			}
		}
		var err error
		switch c.cfg.DTMF {
		case DTMFInfo:
			err = c.sendInfo(ctx, sess, st.Digit)
		case DTMFInband:
			opt := dtmf.DefaultToneOptions()
			opt.Duration, opt.Gap = c.cfg.DigitOn, c.cfg.DigitOff
			err = c.enqueuePCM(ctx, dtmf.GenerateDigits(string(st.Digit.Char()), opt))
		default:
			err = c.sendEvent(ctx, st.Digit)
		}
		if err != nil {
			return err
		}
		c.res.DigitsSent++
	}
	return nil
}

func (c *caller) sendInfo(ctx context.Context, sess *sipgo.DialogClientSession, d dtmf.Digit) error {
	req := sip.NewRequest(sip.INFO, sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody(dtmf.FormatInfoRelay(d, c.cfg.DigitOn))
	res, err := sess.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("INFO: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("INFO answered %d", res.StatusCode)
	}
	select {
	case <-time.After(c.cfg.DigitOn + c.cfg.DigitOff):
	case <-ctx.Done():
	}
	return nil
}

// enqueuePCM hands audio to the sender and waits until it has been sent.
func (c *caller) enqueuePCM(ctx context.Context, pcm []int16) error {
	done := make(chan struct{})
	c.work <- func(s *senderState) bool {
		if len(s.pcm) == 0 && len(s.events) == 0 {
			s.pcm = pcm
			return true
		}
		return false
	}
	c.work <- func(s *senderState) bool {
		if len(s.pcm) == 0 {
			close(done)
			return true
		}
		return false
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return nil
	case <-c.bye:
		return nil
	}
}

// sendEvent sends one RFC 4733 keypress (same SSRC and sequence space as the audio, one
// timestamp for the whole event, the end packet three times) and waits for DigitOff.
func (c *caller) sendEvent(ctx context.Context, d dtmf.Digit) error {
	if c.params.EventPT < 0 {
		return errors.New("the far end did not accept telephone-event")
	}
	done := make(chan struct{})
	c.work <- func(s *senderState) bool {
		pkts, err := dtmf.NewSender(8000).Packets(d, c.ts, c.cfg.DigitOn, 20*time.Millisecond)
		if err != nil {
			close(done)
			return true
		}
		s.events, s.evStart = pkts, s.frame
		return true
	}
	c.work <- func(s *senderState) bool {
		if len(s.events) == 0 {
			close(done)
			return true
		}
		return false
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil
	case <-c.bye:
		return nil
	}
	select {
	case <-time.After(c.cfg.DigitOff):
	case <-ctx.Done():
	case <-c.bye:
	}
	return nil
}

func (c *caller) replayRTP(ctx context.Context) error {
	start := time.Now()
	var seqOff uint16
	var tsOff uint32
	first := true
	var pkt rtp.Packet
	for _, rp := range c.cfg.PlayRTP {
		if err := pkt.Unmarshal(rp.Packet); err != nil {
			continue
		}
		if first {
			seqOff = c.seq - pkt.SequenceNumber
			tsOff = c.ts - pkt.Timestamp
			first = false
		}
		if d := time.Until(start.Add(rp.At)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil
			case <-c.bye:
				return nil
			}
		}
		pkt.SSRC = c.ssrc
		pkt.SequenceNumber += seqOff
		pkt.Timestamp += tsOff
		if b, err := pkt.Marshal(); err == nil {
			c.write(b)
		}
	}
	return nil
}

// keys sets up SRTP from the answer's a=crypto line and the line of our offer it chose.
func (c *caller) keys(offered []*media.Crypto) error {
	remote := c.params.Crypto
	for _, k := range offered {
		if k.Tag == remote.Tag && k.Suite == remote.Suite {
			var err error
			c.sec, err = media.NewSRTP(k, remote)
			return err
		}
	}
	return fmt.Errorf("%w: tag %d", media.ErrCryptoMismatch, remote.Tag)
}

func (c *caller) write(b []byte) {
	dst := c.remote.Load()
	if dst == nil || !dst.IsValid() || dst.Addr().IsUnspecified() {
		return
	}
	if c.sec != nil {
		var err error
		if c.wbuf, err = c.sec.Protect(c.wbuf[:0], b); err != nil {
			return
		}
		b = c.wbuf
	}
	if _, err := c.rtpConn.WriteToUDPAddrPort(b, *dst); err == nil {
		c.sent.Add(1)
	}
}

// sendLoop sends one frame every 20 ms: an RFC 4733 packet while a key is held, queued audio,
// or silence.
func (c *caller) sendLoop(ctx context.Context) {
	if len(c.cfg.PlayRTP) > 0 {
		<-ctx.Done()
		return
	}
	s := &senderState{c: c}
	var pending []func(*senderState) bool
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	buf := make([]byte, 12+160)
	pcm := make([]int16, 160)
	next := time.Now()
	var maxLate time.Duration
	for {
		select {
		case <-ctx.Done():
			c.res.SendLateMax = maxLate.Microseconds()
			return
		case now := <-t.C:
			if late := now.Sub(next); late > maxLate {
				maxLate = late
			}
			next = next.Add(20 * time.Millisecond)
			if now.Sub(next) > 100*time.Millisecond {
				next = now
			}
		}
	drain:
		for {
			select {
			case f := <-c.work:
				pending = append(pending, f)
			default:
				break drain
			}
		}
		for len(pending) > 0 && pending[0](s) {
			pending = pending[1:]
		}
		h := rtp.Header{Version: 2, SequenceNumber: c.seq, SSRC: c.ssrc}
		var payload []byte
		if len(s.events) > 0 {
			p := s.events[0]
			s.events = s.events[1:]
			h.PayloadType = uint8(c.params.EventPT)
			h.Timestamp = p.Timestamp
			h.Marker = p.Marker
			payload = p.Payload
		} else {
			n := copy(pcm, s.pcm)
			clear(pcm[n:])
			s.pcm = s.pcm[n:]
			h.PayloadType = c.params.Codec.PayloadType()
			h.Timestamp = c.ts
			payload = buf[12 : 12+c.params.Codec.Encode(buf[12:], pcm)]
		}
		n, _ := h.MarshalTo(buf)
		out := append(buf[:n:n], payload...)
		if c.params.Sends() {
			c.write(out)
		}
		c.seq++
		c.ts += 160
		s.frame++
		for len(pending) > 0 && pending[0](s) {
			pending = pending[1:]
		}
	}
}

// readRTP collects what the far end sends and notices the first prompt.
func (c *caller) readRTP(ctx context.Context) {
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	pcm := make([]int16, 480)
	for ctx.Err() == nil {
		n, src, err := c.rtpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		data := buf[:n]
		if c.sec != nil && n >= 12 {
			if data, err = c.sec.Unprotect(data); err != nil {
				if cur := c.remote.Load(); cur != nil && *cur == src {
					c.srtpFailed.Add(1)
				} else {
					c.foreign.Add(1)
				}
				continue
			}
		}
		if len(data) < 12 || data[0]>>6 != 2 || pkt.Unmarshal(data) != nil {
			continue
		}
		if pkt.PayloadType != c.params.Codec.PayloadType() {
			continue
		}
		// Symmetric RTP: answer to where the far end sends from.
		if cur := c.remote.Load(); cur == nil || *cur != src {
			s := src
			c.remote.Store(&s)
		}
		c.received.Add(1)
		p := pkt.Payload
		if len(p) > len(pcm) {
			p = p[:len(pcm)]
		}
		out := pcm[:c.params.Codec.Decode(pcm, p)]
		var energy int64
		for _, v := range out {
			if v < 0 {
				v = -v
			}
			energy += int64(v)
		}
		if len(out) > 0 && energy/int64(len(out)) > 200 {
			c.promptOne.Do(func() { close(c.prompt) })
		}
		c.mu.Lock()
		if len(c.heard) < 8000*600 {
			c.heard = append(c.heard, out...)
		}
		c.mu.Unlock()
	}
}

// localIPFor is the local address used to reach hostport.
func localIPFor(hostport string) netip.Addr {
	conn, err := net.Dial("udp", hostport)
	if err == nil {
		defer conn.Close()
		return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	}
	return netip.MustParseAddr("127.0.0.1")
}
