package ivr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/media"
)

// Call is one answered SIP call: a dialog on top of one media.Session. It implements
// engine.Channel: the engine plays prompts, reads the merged keypress stream, turns the
// secure window on and off, transfers and hangs up through it.
type Call struct {
	srv    *Server
	dialog *sipgo.DialogServerSession
	media  *media.Session
	info   engine.CallInfo
	remote string // caller's signalling source, for logs

	transport string           // the SIP transport the INVITE came on: UDP, TCP or TLS
	tls       bool             // transport is TLS: in-dialog requests must be too
	policy    media.SRTPPolicy // the call's media encryption policy (listener and plan)

	offer        *media.SessionSDP
	localSDP     []byte
	oldSDP       [][]byte // earlier answers of an encrypted call, zeroed at hang-up
	sdpID        uint64
	sdpVersion   uint64
	lateOffer    bool
	lateAnswered atomic.Bool

	digits   chan dtmf.Event
	done     chan struct{}
	released chan struct{} // closed when finish has released the media

	mu        sync.Mutex
	ended     bool
	cause     string
	endErr    error
	digitsN   [4]int // by source
	modifying bool   // a re-INVITE/UPDATE is being answered (491 for another)
	ackWait   chan struct{}
	ackCSeq   uint32
	referCh   chan int // final status of a REFER's NOTIFY sipfrag

	leg  atomic.Pointer[Leg] // the leg the call is bridged to (dial.go)
	legs atomic.Int32        // legs placed so far

	ctx    context.Context
	cancel context.CancelFunc
}

var (
	_ engine.Channel       = (*Call)(nil)
	_ engine.PromptStarter = (*Call)(nil)
	_ engine.PCMStarter    = (*Call)(nil)
)

func newCall(s *Server, dlg *sipgo.DialogServerSession, req *sip.Request, conn *net.UDPConn, started time.Time, policy media.SRTPPolicy) *Call {
	transport := strings.ToUpper(req.Transport())
	c := &Call{
		srv: s, dialog: dlg, remote: req.Source(),
		transport: transport, tls: transport == "TLS", policy: policy,
		info: engine.CallInfo{
			ID: newCallID(), From: req.From().Address.User, To: dialledNumber(req), StartedAt: started,
		},
		sdpID:      rand.Uint64() >> 1, // fits int64 (strict peers reject larger)
		sdpVersion: 1,
		digits:     make(chan dtmf.Event, 128),
		done:       make(chan struct{}),
		released:   make(chan struct{}),
		referCh:    make(chan int, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.media = media.NewSession(conn, media.SessionConfig{
		Scheduler: s.sched,
		DTMF:      s.cfg.NewDTMF(c.deliver),
		Timeout:   max(s.cfg.MediaTimeout, 0),
		OnTimeout: func() {
			c.endErr = media.ErrTimeout
			c.finish("media-timeout", true)
		},
		StrictRTP:     s.cfg.StrictRTP,
		SignalIP:      sourceAddr(req),
		OnForeign:     s.metrics.RTPForeign,
		OnSocketDrops: s.onCallSocketDrops,
		OnSRTPDrop:    s.metrics.SRTPDropped,
		Logger:        s.log.With("call_id", c.info.ID),
	})
	return c
}

// answered starts media and runs the handler; it returns when the call is over.
func (c *Call) answered(h CallHandler) {
	c.media.Start()
	c.srv.log.Info("call answered", "call_id", c.info.ID, "to", c.info.To, "codec", c.media.Params().Codec.Name(),
		"transport", c.transport, "srtp", c.media.Suite().String())
	if c.srv.cfg.Record {
		if err := c.Record(true); err != nil {
			c.srv.log.Warn("recording not started", "call_id", c.info.ID, "err", err)
		}
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				c.srv.log.Error("call handler panicked", "call_id", c.info.ID, "panic_type", fmt.Sprintf("%T", r))
				c.endErr = errors.New("ivr: call handler panicked")
			}
		}()
		h(c.ctx, c)
	}()
	c.finish("completed", true)
}

// deliver is the DTMF stream's OnDigit: it runs inside the stream, which the media session
// serialises.
func (c *Call) deliver(e dtmf.Event) {
	if l := c.leg.Load(); l != nil {
		l.callerKey(e) // regenerated towards the leg, or a beep there during a payment
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if int(e.Source) < len(c.digitsN) {
		c.digitsN[e.Source]++
	}
	c.srv.metrics.Digit(e.Source)
	select {
	case c.digits <- e:
	default:
		c.srv.log.Warn("digit dropped: engine not reading", "call_id", c.info.ID)
	}
}

// infoDTMF feeds a SIP INFO body to the call's keypress stream.
func (c *Call) infoDTMF(contentType string, body []byte) error {
	return c.media.Info(contentType, body)
}

// Info describes the call.
func (c *Call) Info() engine.CallInfo { return c.info }

// Security is how a call is protected on the wire.
type Security struct {
	// Transport is the SIP transport the call came on: UDP, TCP or TLS.
	Transport string
	// SRTP is the media's crypto suite; media.SuiteNone for plain RTP.
	SRTP media.SRTPSuite
}

// Encrypted reports whether both the signalling (and with it the SDES keys) and the media
// are encrypted: SIP over TLS and SRTP. SRTP over plaintext SIP is not: its keys crossed the
// network in the clear.
func (s Security) Encrypted() bool { return s.Transport == "TLS" && s.SRTP != media.SuiteNone }

// Security says how the call is protected. Whether its media is encrypted is fixed when it is
// answered (a re-INVITE may change the keys, not that).
func (c *Call) Security() Security { return Security{Transport: c.transport, SRTP: c.media.Suite()} }

// ID is paybridge's call id.
func (c *Call) ID() string { return c.info.ID }

// Play sends a prompt (resolved by Config.Prompts) and returns when it has been sent, when
// ctx is cancelled (barge-in) or when the call ends (engine.ErrHangup).
func (c *Call) Play(ctx context.Context, prompt string) error {
	pcm, err := c.promptPCM(prompt)
	if err != nil {
		return err
	}
	return c.PlayPCM(ctx, pcm)
}

// PlayPCM sends 8 kHz PCM samples, like Play.
func (c *Call) PlayPCM(ctx context.Context, pcm []int16) error {
	return hangupIfClosed(c.media.Play(ctx, pcm))
}

// promptPCM resolves a prompt for Play and StartPlay alike: engine.ErrHangup once the call has
// ended.
func (c *Call) promptPCM(prompt string) ([]int16, error) {
	if c.isEnded() {
		return nil, engine.ErrHangup
	}
	pcm, err := c.srv.cfg.Prompts.PCM(prompt)
	if err != nil {
		return nil, fmt.Errorf("ivr: prompt %q: %w", prompt, err)
	}
	return pcm, nil
}

// hangupIfClosed is the media session's end as the engine names it: the call's.
func hangupIfClosed(err error) error {
	if errors.Is(err, media.ErrClosed) {
		return engine.ErrHangup
	}
	return err
}

// StartPlay starts a prompt (resolved by Config.Prompts) and returns at once: the engine
// watches its end beside the call's keys, with no goroutine waiting in Play
// (engine.PromptStarter). engine.ErrHangup when the call has ended.
func (c *Call) StartPlay(prompt string) (engine.Playback, error) {
	pcm, err := c.promptPCM(prompt)
	if err != nil {
		return nil, err
	}
	return c.StartPCM(pcm)
}

// StartPCM starts sending 8 kHz PCM samples, like StartPlay (engine.PCMStarter).
func (c *Call) StartPCM(pcm []int16) (engine.Playback, error) {
	p, err := c.media.StartPlay(pcm)
	if err != nil {
		return nil, hangupIfClosed(err)
	}
	return callPlayback{p}, nil
}

// callPlayback is a started prompt as the engine sees it: the session's end is the call's.
type callPlayback struct{ *media.Playing }

func (p callPlayback) Stop() error { return hangupIfClosed(p.Playing.Stop()) }

// Digits is the merged keypress stream; it is closed when the call ends.
func (c *Call) Digits() <-chan dtmf.Event { return c.digits }

// Secure turns the secure window on or off: while on, the recording holds only the fill.
func (c *Call) Secure(on bool) { c.media.SetSecure(on) }

// Record starts (true) or stops (false) the call's masked recording in Config.RecordDir.
// Starting a recording that runs does nothing.
func (c *Call) Record(on bool) error {
	if !on {
		return c.media.StopRecording()
	}
	if c.srv.cfg.RecordDir == "" {
		return errors.New("ivr: recording needs Config.RecordDir")
	}
	// Recordings are masked, but they are still call audio: owner only.
	if err := os.MkdirAll(c.srv.cfg.RecordDir, 0o700); err != nil {
		return err
	}
	return c.media.Record(c.srv.recordPath(c.info.ID), c.srv.cfg.NewMasker())
}

// RecordingPath is where the call's recording is written (it exists once Record(true)).
func (c *Call) RecordingPath() string { return c.srv.recordPath(c.info.ID) }

// Transfer hands the call to target with a REFER (RFC 3515) and hangs up once the far end
// reports the new leg answered (or accepted the REFER and said nothing within 10 s).
func (c *Call) Transfer(ctx context.Context, target string) error {
	if c.isEnded() {
		return engine.ErrHangup
	}
	uri, err := c.transferURI(target)
	if err != nil {
		return err
	}
	contact := c.dialog.InviteRequest.Contact()
	req := sip.NewRequest(sip.REFER, contact.Address)
	req.AppendHeader(sip.NewHeader("Refer-To", "<"+uri+">"))
	req.AppendHeader(sip.NewHeader("Referred-By", "<"+c.contact().Address.String()+">"))
	res, err := c.dialog.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("ivr: REFER: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%w: %d", ErrTransferRejected, res.StatusCode)
	}
	wait := time.NewTimer(10 * time.Second)
	defer wait.Stop()
	for {
		select {
		case code := <-c.referCh:
			if code < 200 {
				continue
			}
			if code >= 300 {
				return fmt.Errorf("%w: new leg answered %d", ErrTransferRejected, code)
			}
		case <-wait.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return nil // the far end hung up after transferring
		}
		return c.Hangup(ctx, "transferred")
	}
}

func (c *Call) transferURI(target string) (string, error) {
	if err := sipsafe.CheckHeaderValue(target); err != nil {
		return "", err
	}
	target = strings.TrimSpace(target)
	if target == "" || strings.ContainsAny(target, "<> \t\"") {
		return "", fmt.Errorf("%w: transfer target is not a URI or number", sipsafe.ErrBadHeaderValue)
	}
	if strings.HasPrefix(target, "sip:") || strings.HasPrefix(target, "sips:") || strings.HasPrefix(target, "tel:") {
		var u sip.Uri
		if err := sip.ParseUri(target, &u); err != nil {
			return "", fmt.Errorf("ivr: transfer target: %w", err)
		}
		return u.String(), nil
	}
	host := c.dialog.InviteRequest.Recipient.Host
	return "sip:" + target + "@" + host, nil
}

// contact is our Contact for this call: on the TLS listener for a call that came on TLS.
func (c *Call) contact() *sip.ContactHeader {
	switch {
	case c.tls && tlsContactSIPS(c.dialog.InviteRequest):
		return &c.srv.contactSIPS
	case c.tls:
		return &c.srv.contactTLS
	}
	return &c.srv.contact
}

// notify receives the NOTIFYs of a REFER subscription (message/sipfrag bodies).
func (c *Call) notify(req *sip.Request) {
	body := req.Body()
	if !bytes.HasPrefix(body, []byte("SIP/2.0 ")) || len(body) < 11 {
		return
	}
	code := 0
	fmt.Sscanf(string(body[8:11]), "%d", &code)
	select {
	case c.referCh <- code:
	default:
	}
}

// Hangup sends BYE and ends the call with reason as its cause.
func (c *Call) Hangup(ctx context.Context, reason string) error {
	if c.isEnded() {
		return nil
	}
	if reason == "" {
		reason = "hangup"
	}
	c.finish(reason, true)
	return nil
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Cause is why the call ended ("" while up): caller-hangup, completed, media-timeout,
// caller-cancelled, no-ack, shutdown, transferred, or the reason given to Hangup.
func (c *Call) Cause() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Stats reports the call's RTP counters.
func (c *Call) Stats() (received, lost, dropped int64) {
	st := c.media.Stats()
	return st.Received, st.Lost, st.Dropped
}

// MediaStats reports the call's RTP counters, foreign datagrams and latch included. Once the
// call has ended it waits for the media to be released, so the figures are final.
func (c *Call) MediaStats() media.Stats {
	if c.isEnded() {
		<-c.released
	}
	return c.media.Stats()
}

// Context is cancelled when the call ends.
func (c *Call) Context() context.Context { return c.ctx }

func (c *Call) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// finish ends the call once: BYE (when we end it and it was answered), media released,
// digits closed, metrics and the server's table updated.
func (c *Call) finish(cause string, sendBye bool) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.cause = cause
	c.mu.Unlock()

	c.cancel()
	close(c.done)
	if l := c.leg.Load(); l != nil {
		l.end("caller-hangup", true) // the caller's BYE ends the bridged leg too
	}
	if sendBye && c.dialog.LoadState() >= sip.DialogStateEstablished && c.dialog.LoadState() != sip.DialogStateEnded {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.dialog.Bye(ctx); err != nil {
			c.srv.log.Debug("BYE failed", "call_id", c.info.ID, "err", err)
		}
		cancel()
	}
	c.media.Close() // zeroes the session's SRTP keys
	c.srv.ports.Put(c.media.Port())
	// The SDES keys in the descriptions the call kept: the offer (and its bytes in the
	// INVITE) and our answer.
	c.mu.Lock()
	c.offer.Zero()
	clear(c.localSDP)
	for _, b := range c.oldSDP {
		clear(b)
	}
	if body := c.dialog.InviteRequest.Body(); len(body) > 0 && c.media.Params().Encrypted() {
		clear(body)
	}
	c.mu.Unlock()
	c.mu.Lock()
	close(c.digits)
	c.mu.Unlock()
	c.dialog.Close()
	c.srv.remove(c)
	c.srv.active.Add(-1)
	c.srv.metrics.CallEnded(cause)
	st := c.media.Stats()
	c.srv.metrics.RTPPackets(int(st.Received), int(st.Lost))
	c.srv.log.Info("call ended", "call_id", c.info.ID, "cause", cause,
		"duration", time.Since(c.info.StartedAt).Round(time.Millisecond), "transport", c.transport, "srtp", c.media.Suite().String(),
		"rtp_received", st.Received, "rtp_lost", st.Lost, "rtp_foreign", st.Foreign,
		"srtp_auth_failed", st.SRTPAuthFailed, "srtp_replayed", st.SRTPReplayed,
		"digits_rfc4733", c.digitsN[dtmf.SourceRFC4733], "digits_inband", c.digitsN[dtmf.SourceInband], "digits_info", c.digitsN[dtmf.SourceINFO])
	close(c.released)
}

// ackReceived wakes a re-INVITE waiting for the ACK of its 2xx.
func (c *Call) ackReceived(req *sip.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ackWait != nil && req.CSeq().SeqNo == c.ackCSeq {
		close(c.ackWait)
		c.ackWait = nil
	}
}

// afterModify runs the test hook, if any, after a modification was answered: tests widen the
// window between the answer and the end of its handler with it.
func (s *Server) afterModify() {
	if f := s.modifyAnswered.Load(); f != nil {
		(*f)()
	}
}

// modify answers a re-INVITE (invite=true) or UPDATE: 491 while another is in progress, 500
// with Retry-After for a CSeq that went backwards, 488 for an offer we cannot take; otherwise
// the new direction (hold/unhold) and remote address take effect and we answer with our SDP
// (o= version bumped only when it changed). A re-INVITE's 2xx is retransmitted until its ACK.
func (c *Call) modify(req *sip.Request, tx sip.ServerTransaction, invite bool) {
	s := c.srv
	method := string(req.Method)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		s.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if err := c.dialog.ReadRequest(req, tx); err != nil {
		c.mu.Unlock()
		s.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	if c.modifying || c.lateOffer && !c.lateAnswered.Load() {
		c.mu.Unlock()
		s.respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	c.modifying = true
	c.mu.Unlock()
	// The offer/answer exchange is over with the final response, so the exchange is released
	// *before* that response is sent: a caller may send its next re-INVITE or UPDATE the moment
	// our answer arrives, and must not meet a 491 because this goroutine had not yet been
	// scheduled to release it (the unhold of TestReinviteHoldUnholdAndRules got 491 under CPU
	// load that way). The ACK wait of a re-INVITE does not block the next exchange either.
	var releaseOnce sync.Once
	release := func() {
		releaseOnce.Do(func() {
			c.mu.Lock()
			c.modifying = false
			c.mu.Unlock()
		})
	}
	defer release()
	refuse := func(code int, reason string, hdrs ...sip.Header) {
		release()
		s.respond(tx, req, code, reason, hdrs...)
		s.afterModify()
	}
	body, ok := sdpBody(req)
	if !ok {
		refuse(sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	if len(body) > 0 {
		sd, err := media.ParseSDP(body)
		var p media.Params
		if err == nil {
			p, err = media.NegotiateWith(sd, c.policy)
		}
		old := c.media.Params()
		oldKey := c.media.LocalCrypto()
		if err == nil {
			// A re-offer may re-key (the far end's new key, and then ours), never turn the
			// call's encryption on or off (media.ErrEncryptionChange).
			err = c.media.SetParams(p)
		}
		if err != nil {
			sd.Zero()
			refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", warning(s.ip, err)))
			return
		}
		c.mu.Lock()
		c.offer.Zero() // the previous offer's key is no longer needed
		c.offer = sd
		c.mu.Unlock()
		if p.Direction != old.Direction || p.Codec != old.Codec || p.EventPT != old.EventPT || p.PTime != old.PTime ||
			c.media.LocalCrypto() != oldKey {
			c.sdpVersion++
		}
		local := media.LocalMedia{IP: s.ip, Port: c.media.Port(), SessionID: c.sdpID, Version: c.sdpVersion, Crypto: c.media.LocalCrypto()}
		c.mu.Lock()
		if c.media.Params().Encrypted() {
			// An earlier answer may still be retransmitted; its key is zeroed at hang-up.
			c.oldSDP = append(c.oldSDP, c.localSDP)
		}
		c.localSDP = media.BuildAnswer(sd, p, local)
		c.mu.Unlock()
	}
	res := sip.NewSDPResponseFromRequest(req, c.localSDP)
	res.AppendHeader(c.contact())
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	s.metrics.SIPResponse(method, sip.StatusOK)
	if !invite {
		release()
		tx.Respond(res)
		s.afterModify()
		return
	}

	ack := make(chan struct{})
	c.mu.Lock()
	c.ackWait, c.ackCSeq = ack, req.CSeq().SeqNo
	c.mu.Unlock()
	release()
	if err := tx.Respond(res); err != nil {
		return
	}
	s.afterModify()
	// RFC 3261 section 13.3.1.4: retransmit the 2xx (T1 doubling to T2) until the ACK.
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		select {
		case <-ack:
			return
		case <-c.done:
			return
		case <-deadline.C:
			c.finish("no-ack", true)
			return
		case <-time.After(interval):
			tx.Respond(res)
			interval = min(2*interval, sip.T2)
		}
	}
}
