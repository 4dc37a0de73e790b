package captureline

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/sandbox"
)

// Ledger is where the line finds sessions and pays them: *sandbox.Provider.
type Ledger interface {
	LineSession(link string) (string, error)
	PayOnLine(link string, card sandbox.LineCard) (sandbox.LineResult, error)
}

// Config configures a Line.
type Config struct {
	// Ledger is the sandbox the line pays into. Required.
	Ledger Ledger
	// IP is the address the line listens on (default 127.0.0.1).
	IP netip.Addr
	// User is the user part of the line's URI (default "capture").
	User string
	// KeyTimeout: the longest wait for the next key (default 15 s).
	KeyTimeout time.Duration
	// CallTimeout: the longest call (default 5 minutes).
	CallTimeout time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Line is a running capture line.
type Line struct {
	cfg    Config
	ua     *sipgo.UserAgent
	pc     net.PacketConn
	dc     *sipgo.DialogServerCache
	sched  *media.Scheduler
	port   int
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start listens on a free UDP port of cfg.IP and answers calls until Close.
func Start(cfg Config) (*Line, error) {
	if cfg.Ledger == nil {
		return nil, fmt.Errorf("%w: no ledger", ErrConfig)
	}
	if !cfg.IP.IsValid() {
		cfg.IP = netip.MustParseAddr("127.0.0.1")
	}
	if cfg.User == "" {
		cfg.User = "capture"
	}
	if cfg.KeyTimeout <= 0 {
		cfg.KeyTimeout = 15 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ip := cfg.IP.String()
	logger := slog.New(sipsafe.LogHandler(cfg.Logger.Handler()))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("paybridge-sandbox-line"), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(logger)))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(logger))
	if err != nil {
		ua.Close()
		return nil, err
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		ua.Close()
		return nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(port), sipgo.WithClientLogger(logger))
	if err != nil {
		pc.Close()
		ua.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Line{cfg: cfg, ua: ua, pc: pc, sched: media.NewScheduler(), port: port, cancel: cancel,
		dc: sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cfg.User, Host: ip, Port: port}})}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { l.onInvite(ctx, req, tx) })
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = l.dc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := l.dc.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	go func() { _ = srv.ServeUDP(pc) }()
	cfg.Logger.Info("sandbox capture line listening", "uri", l.URI())
	return l, nil
}

// URI is the line's SIP URI, what a voice session's dtmfFallbackNumber names.
func (l *Line) URI() string {
	return fmt.Sprintf("sip:%s@%s", l.cfg.User, net.JoinHostPort(l.cfg.IP.String(), fmt.Sprint(l.port)))
}

// Close hangs up the calls in progress and stops the line.
func (l *Line) Close() {
	l.cancel()
	l.wg.Wait()
	_ = l.pc.Close()
	_ = l.ua.Close()
	l.sched.Close()
}
