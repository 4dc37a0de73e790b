package callgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/media"
)

// gen is one run.
type gen struct {
	cfg    Config
	mix    *mixer
	dc     *sipgo.DialogClientCache
	byes   sync.Map // Call-ID → chan struct{}
	target sip.Uri

	placed, answered, refused, rejected, failed, farBye, timedOut, completed atomic.Int64
	active, peak                                                             atomic.Int64
	callNanos                                                                atomic.Int64
}

// Run places cfg.Calls calls at cfg.Rate per second and returns when every call has ended
// (or ctx is done).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	st, err := buildStream(cfg)
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg}
	g.target = sip.Uri{Scheme: "sip", User: cfg.User, Host: cfg.Target.Addr().String(), Port: int(cfg.Target.Port())}
	ip := cfg.LocalIP.String()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("paybridge-callgen"), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)))
	if err != nil {
		return nil, err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	if u, ok := pc.(*net.UDPConn); ok {
		u.SetReadBuffer(4 << 20)
	}
	sipPort := pc.LocalAddr().(*net.UDPAddr).Port
	go srv.ServeUDP(pc)
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(sipPort), sipgo.WithClientLogger(quiet))
	if err != nil {
		return nil, err
	}
	g.dc = sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callgen", Host: ip, Port: sipPort}})
	srv.OnBye(g.onBye)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
	})

	g.mix, err = newMixer(st, cfg.LocalIP, cfg.Sockets)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Calls {
		due := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); g.call(ctx, i) }()
	}
	wg.Wait()
	g.mix.close()
	return &Result{
		Placed: int(g.placed.Load()), Answered: int(g.answered.Load()), Refused: int(g.refused.Load()),
		Rejected: int(g.rejected.Load()), Failed: int(g.failed.Load()), FarBye: int(g.farBye.Load()),
		TimedOut: int(g.timedOut.Load()), Completed: int(g.completed.Load()),
		PeakConcurrent: int(g.peak.Load()), CallSeconds: time.Duration(g.callNanos.Load()).Seconds(),
		RTPSent: g.mix.sent.Load(), RTPReceived: g.mix.received.Load(), SendCalls: g.mix.sendCalls.Load(),
		TickLateMax: time.Duration(g.mix.lateMax.Load()), TicksLate: g.mix.ticksLate.Load(),
		Elapsed: time.Since(start),
	}, ctx.Err()
}

func buildStream(cfg Config) (stream, error) {
	opt := pcapgen.Options{Lead: cfg.Lead}
	var pkts []pcapgen.Packet
	if cfg.DTMF == Inband {
		pkts = pcapgen.Inband(cfg.Keys, opt)
	} else {
		var err error
		if pkts, err = pcapgen.RFC4733(cfg.Keys, opt); err != nil {
			return stream{}, err
		}
	}
	if len(pkts) == 0 {
		return stream{}, errors.New("callgen: empty stream")
	}
	st := stream{seq0: pkts[0].Packet.SequenceNumber, ts0: pkts[0].Packet.Timestamp, eventPT: 101}
	for i, p := range pkts {
		if p.At != time.Duration(i)*frame {
			return stream{}, fmt.Errorf("callgen: packet %d is not on the 20 ms grid", i)
		}
		b, err := p.Packet.Marshal()
		if err != nil {
			return stream{}, err
		}
		st.pkts = append(st.pkts, b)
	}
	return st, nil
}

func (g *gen) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if err := g.dc.ReadBye(req, tx); err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	if id := req.CallID(); id != nil {
		if ch, ok := g.byes.LoadAndDelete(id.Value()); ok {
			close(ch.(chan struct{}))
		}
	}
}

// call is one caller: INVITE, ACK, the stream, then the far end's BYE (or ours after ByeWait).
func (g *gen) call(ctx context.Context, i int) {
	g.placed.Add(1)
	sock := i % len(g.mix.conns)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: g.cfg.From, Host: g.cfg.LocalIP.String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	body := offer(g.cfg.LocalIP, g.mix.port(sock), uint64(i)+1)
	var key *media.Crypto
	if g.cfg.SRTP {
		var err error
		if key, err = media.NewCrypto(1, media.AES_CM_128_HMAC_SHA1_80); err != nil {
			g.failed.Add(1)
			return
		}
		defer key.Zero()
		body = media.BuildOffer(media.LocalMedia{IP: g.cfg.LocalIP, Port: g.mix.port(sock), SessionID: uint64(i) + 1, Version: 1,
			Cryptos: []*media.Crypto{key}})
	}
	sess, err := g.dc.Invite(ctx, g.target, body, sip.NewHeader("Content-Type", "application/sdp"), from)
	if err != nil {
		g.failed.Add(1)
		return
	}
	defer sess.Close()
	bye := make(chan struct{})
	callID := sess.InviteRequest.CallID().Value()
	g.byes.Store(callID, bye)
	defer g.byes.Delete(callID)
	actx, cancel := context.WithTimeout(ctx, 32*time.Second) // 64×T1: the INVITE transaction's own limit
	err = sess.WaitAnswer(actx, sipgo.AnswerOptions{})
	cancel()
	if err != nil {
		var re *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &re) && re.Res.StatusCode == sip.StatusServiceUnavailable:
			g.refused.Add(1)
		case errors.As(err, &re):
			g.rejected.Add(1)
		default:
			g.failed.Add(1)
		}
		return
	}
	to, pt, err := answerAddr(sess.InviteResponse.Body())
	var sec *media.SRTP
	if err == nil && key != nil {
		sec, err = answerSRTP(sess.InviteResponse.Body(), key)
	}
	if err != nil {
		sess.Ack(ctx)
		g.hangup(sess)
		g.failed.Add(1)
		return
	}
	if err := sess.Ack(ctx); err != nil {
		g.hangup(sess)
		g.failed.Add(1)
		return
	}
	answered := time.Now()
	g.answered.Add(1)
	if n := g.active.Add(1); n > g.peak.Load() {
		g.peak.Store(n) // only a high-water mark: a lost race under-reports by one at most
	}
	defer func() {
		g.active.Add(-1)
		g.callNanos.Add(int64(time.Since(answered)))
	}()

	cm := &callMedia{to: net.UDPAddrFromAddrPort(to), sock: sock, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()),
		ts: rand.Uint32(), eventPT: pt, done: make(chan struct{}), sec: sec}
	g.mix.add(cm)
	defer cm.stopped.Store(true)
	select {
	case <-bye:
		g.farBye.Add(1)
		return
	case <-cm.done:
		g.completed.Add(1)
	case <-ctx.Done():
		g.hangup(sess)
		return
	}
	select {
	case <-bye:
		g.farBye.Add(1)
	case <-time.After(g.cfg.ByeWait):
		g.timedOut.Add(1)
		g.hangup(sess)
	case <-ctx.Done():
		g.hangup(sess)
	}
}

func (g *gen) hangup(sess *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess.Bye(ctx)
}

// ParseTarget reads host:port.
func ParseTarget(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("callgen: %s: %v", host, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, _ := netip.AddrFromSlice(ips[0].To4())
	return netip.AddrPortFrom(ip, uint16(p)), nil
}
