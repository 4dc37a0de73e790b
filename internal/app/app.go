package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/examples"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/internal/clientip"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/internal/tlsconf"
	"github.com/paybridge/paybridge/ivr"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/sandbox/captureline"
	"github.com/paybridge/paybridge/store"
)

// App is one running paybridge node.
type App struct {
	cfg    Config
	getenv func(string) string
	log    *slog.Logger
	out    io.Writer

	lock        *dataLock // one node per data directory
	store       *store.Store
	node        string           // this node's id (--node-id or the host name)
	lease       *store.NodeLease // this node's hold on its id in the database
	live        *liveFeed        // live events: this node's console and the other nodes'
	gwStore     gatewayStore
	plans       *planRegistry
	sandbox     *sandbox.Provider
	captureLine *captureline.Line // --sandbox-capture-line
	connectors  *gateway.Connectors
	links       *gateway.Links
	webhooks    *gateway.Webhooks
	lifecycle   *gateway.Lifecycle     // capture, void, refund (admin API, console, plans)
	hooks       *gateway.ProviderHooks // provider events posted to /webhooks/provider/{name}
	hub         *console.Hub
	metrics     *console.Metrics
	registry    *prometheus.Registry
	recorder    *eventRecorder
	records     callRecords // the calls' own records (the store; a test stalls it)
	sip         *ivr.Server
	speech      *speech
	desk        *engine.Desk      // the bridged calls agents reach (Payments API, console)
	callbacks   *statusCallbacks  // the agent payments' StatusCallbacks
	agentTokens map[string]string // --agent-tokens

	httpLn      net.Listener
	httpSrv     *http.Server
	sipTLS      *tlsconf.Server // --tls-cert: SIP over TLS (nil: no TLS listener)
	httpTLS     *tlsconf.Server // --http-tls-cert: HTTPS (nil: plain HTTP)
	sandboxLn   net.Listener    // with HTTPS: the loopback-only plain listener the node reaches its own sandbox on
	sandboxSrv  *http.Server
	sandboxURL  string
	sandboxKey  string        // the inspection key of the sandbox, sent by planHTTP only
	sandboxMode *sandboxState // --sandbox, and which plans use it
	planHTTP    *http.Client  // plan HTTP steps: --http-allow, the sandbox key
	proxies     *clientip.Resolver
	adminToken  string
	tokenFile   string // "" when the token came from a flag or the environment
	tokenNew    bool
	paymentKeys int // accounts with a payment key

	started    time.Time // process start: attempts older than this are reconciled
	done       chan struct{}
	doneOnce   sync.Once
	reconciled atomic.Bool // the start-up reconciliation pass has run
	calls      sync.WaitGroup
	// recordWrites counts the calls' record writers (callrecord.go), recordsPending their
	// writes not yet returned.
	recordWrites   sync.WaitGroup
	recordsPending atomic.Int64
	rtpIO          string       // media.RTPIO: the calls' media socket path
	goroutinesIdle atomic.Int64 // goroutines when the node started serving, before any call
	ready          atomic.Bool
	draining       atomic.Bool    // SIGTERM: finishing calls, refusing new ones
	loops          sync.WaitGroup // the node's heartbeat and takeover loops
}

// New builds a node from cfg: it opens (and migrates) the store, loads the plans, binds the
// HTTP and SIP listeners, and wires every package together. Nothing is served until Run.
func New(ctx context.Context, cfg Config, getenv func(string) string, out io.Writer) (*App, error) {
	a := &App{cfg: cfg, getenv: getenv, out: out, done: make(chan struct{}), started: time.Now()}
	var err error
	// The process logger masks any card-number-like run that reaches a log line.
	if a.log, err = console.NewLogger(out, cfg.LogFormat, cfg.LogLevel); err != nil {
		return nil, err
	}
	if err := cfg.EnsureDataDir(); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	ok := false
	defer func() {
		if !ok {
			a.closeAll()
		}
	}()

	if a.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if a.store, err = store.Open(ctx, cfg.Database()); err != nil {
		return nil, err
	}
	a.records = a.store
	a.node = cfg.Node()
	// On SQLite the node owns the file: every pending attempt in it is its own to settle.
	a.gwStore = gatewayStore{s: a.store, node: a.node, owner: a.node, allNodes: !a.store.Shared()}
	if a.adminToken, a.tokenNew, err = console.AdminToken(cfg.DataDir, cfg.AdminToken); err != nil {
		return nil, err
	}
	if cfg.AdminToken == "" {
		a.tokenFile = filepath.Join(cfg.DataDir, console.TokenFile)
	}

	if err := a.loadCertificates(); err != nil {
		return nil, err
	}
	// The HTTP listener is bound first: the sandbox's URL (what baseUrl="sandbox" means) is
	// derived from its real address, so port 0 works in tests.
	if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w", cfg.HTTPAddr, err)
	}
	a.sandboxURL = "http://" + loopbackFor(a.httpLn.Addr().String()) + "/sandbox"
	if a.httpsOn() {
		// The public listener speaks HTTPS with a certificate for the public name, which the
		// node's own loopback requests could not verify: the node reaches its embedded sandbox
		// on a plain listener bound to loopback only, which nothing outside the host reaches.
		if a.sandboxLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("sandbox loopback listener: %w", err)
		}
		a.sandboxURL = "http://" + a.sandboxLn.Addr().String() + "/sandbox"
	}
	a.sandboxKey = randomKey()
	a.sandboxMode = &sandboxState{mode: cfg.Sandbox}
	if a.proxies, err = clientip.New(strings.Fields(cfg.TrustedProxies)); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if a.planHTTP, err = a.newPlanHTTPClient(); err != nil {
		return nil, fmt.Errorf("--http-allow: %w", err)
	}
	if a.agentTokens, err = console.ParseAgentTokens(cfg.AgentTokens); err != nil {
		return nil, fmt.Errorf("--agent-tokens: %w", err)
	}
	a.callbacks = newStatusCallbacks(a.log.With("component", "status-callback"))
	a.desk = engine.NewDesk(a.callbacks.notify)

	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = console.NewMetrics(a.registry)
	a.hub = console.NewHub()
	a.metrics.RegisterHub(a.registry, a.hub)
	a.live = newLiveFeed(a.node, a.hub, a.store, a.log.With("component", "feed"))
	a.recorder = newEventRecorder(a.store, a.live, a.metrics, a.log)

	// The sandbox shares the public listener (when mounted: public.go): its admin and
	// inspection routes take the admin token, or — inspection only — the key plans send;
	// results posted from outside must be signed with the account's payment key.
	paymentKeys, err := sandbox.ParsePaymentKeys(cfg.PaymentKeys)
	if err != nil {
		return nil, err
	}
	// The sandbox posts its events (a capture settled, a refund completed, a chargeback) to
	// this node, signed with a secret of its own, as a real provider posts to its merchant.
	hookSecrets, err := gateway.ParseSecrets(cfg.ProviderHooks)
	if err != nil {
		return nil, err
	}
	sandboxHooks := sandbox.Config{}
	if cfg.Sandbox != "off" {
		hookSecrets[sandboxHookName] = randomKey()
		sandboxHooks.WebhookURL = "http://" + loopbackFor(a.httpLn.Addr().String()) + "/webhooks/provider/" + sandboxHookName
		sandboxHooks.WebhookSecret = hookSecrets[sandboxHookName]
	}
	a.sandbox = sandbox.New(sandbox.Config{Logger: a.log.With("component", "sandbox"),
		AdminToken: a.adminToken, InspectKey: a.sandboxKey, PaymentKeys: paymentKeys,
		WebhookURL: sandboxHooks.WebhookURL, WebhookSecret: sandboxHooks.WebhookSecret})
	a.paymentKeys = len(paymentKeys)
	if cfg.CaptureLine && cfg.Sandbox != "off" {
		line, err := captureline.Start(captureline.Config{Ledger: a.sandbox, Logger: a.log.With("component", "sandbox-line")})
		if err != nil {
			return nil, fmt.Errorf("sandbox capture line: %w", err)
		}
		a.captureLine = line
		a.sandbox.SetCaptureLine(line.URI())
	}
	a.connectors = gateway.NewConnectors(gateway.ConnectorsConfig{
		SandboxURL: a.sandboxBase(),
		Attempts:   a.gwStore,
		Logger:     a.log.With("component", "gateway"),
		Events:     a.recorder,
	})
	var sms gateway.SMSSender = gateway.NewOutboxSender(a.gwStore)
	if cfg.SMSURL != "" {
		var provider gateway.SMSSender = gateway.NewHTTPSender(cfg.SMSURL, cfg.SMSUser, cfg.SMSPassword, cfg.SMSFrom)
		if !strings.HasPrefix(a.publicURL(), "https://") {
			provider = plainLinkRefuser{} // an http:// link is never texted to a phone
		}
		sms = recordedSender{next: provider, store: a.store, log: a.log}
	}
	a.links = gateway.NewLinks(gateway.LinksConfig{
		BaseURL:    a.publicURL(),
		Store:      a.gwStore,
		SMS:        sms,
		From:       cfg.SMSFrom,
		Merchant:   cfg.Merchant,
		Connectors: a.connectors,
		Guard:      gateway.GuardConfig{AllowedPrefixes: strings.Fields(cfg.SMSPrefixes)},
		Logger:     a.log.With("component", "links"),
		Events:     a.recorder,
		ClientIP:   a.proxies.ClientIP,
	})
	var endpoints []gateway.WebhookEndpoint
	if cfg.WebhookURL != "" {
		if cfg.WebhookKey == "" {
			return nil, errors.New("--webhook-url needs --webhook-secret (or PAYBRIDGE_WEBHOOK_SECRET)")
		}
		endpoints = append(endpoints, gateway.WebhookEndpoint{Name: "default", URL: cfg.WebhookURL, Secret: cfg.WebhookKey})
	}
	a.webhooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: a.gwStore, Endpoints: endpoints,
		Logger: a.log.With("component", "webhooks"),
		// Agent payments' StatusCallbacks: where --http-allow lets plans go, signed like the
		// result webhooks.
		Callbacks: gateway.CallbacksConfig{HTTPClient: callbackClient(a.planHTTP), Secret: cfg.WebhookKey}})
	a.callbacks.hooks, a.callbacks.signed = a.webhooks, cfg.WebhookKey != ""
	a.recorder.webhooks = a.webhooks
	a.lifecycle = gateway.NewLifecycle(gateway.LifecycleConfig{Ledger: a.gwStore, Connectors: a.connectors,
		Events: a.recorder, Logger: a.log.With("component", "lifecycle")})
	a.hooks = gateway.NewProviderHooks(gateway.ProviderHooksConfig{Secrets: hookSecrets, Lifecycle: a.lifecycle,
		Logger: a.log.With("component", "provider-webhooks")})

	if a.speech, err = newSpeech(cfg, a.log); err != nil {
		return nil, err
	}
	if c := a.speech.cache; c != nil {
		a.metrics.RegisterSpeech(a.registry, func() console.SpeechStats {
			st := c.Stats()
			return console.SpeechStats{MemoryHits: st.MemoryHits, DiskHits: st.DiskHits, Renders: st.Renders}
		})
	}
	if a.plans, err = newPlanRegistry(a.plansDir(), getenv, a.log, a.store); err != nil {
		return nil, err
	}
	a.plans.speech = a.speech.renderer
	a.plans.onLoad = a.openConnectors
	if err := a.installExamples(); err != nil {
		return nil, err
	}
	if err := a.plans.Reload(); err != nil {
		a.log.Warn("some plans were not loaded", "err", err)
	}

	if err := a.newSIP(); err != nil {
		return nil, err
	}
	if err := a.registerNode(ctx); err != nil {
		return nil, err
	}
	// cardsafe.ConnContext + cardsafe.Listener (in Serve): the sandbox and the payment page zero
	// net/http's read buffer of a connection that brought them a card.
	handler := a.handler()
	if a.httpsOn() {
		handler = secureHeaders(handler)
	}
	a.httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ConnContext: cardsafe.ConnContext}
	if a.sandboxLn != nil {
		mux := http.NewServeMux()
		mux.Handle("/sandbox/", a.sandboxHandler())
		a.sandboxSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnContext: cardsafe.ConnContext}
	}
	ok = true
	return a, nil
}

func (a *App) plansDir() string {
	if a.cfg.PlansDir != "" {
		return a.cfg.PlansDir
	}
	return filepath.Join(a.cfg.DataDir, "plans")
}

// installExamples copies the bundled example plans into DATA/plans on the first start without
// --plans, so that `make run` answers calls at once and the admin has files to edit.
func (a *App) installExamples() error {
	if a.cfg.PlansDir != "" {
		return nil
	}
	dir := a.plansDir()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	plans := examples.Plans()
	return fs.WalkDir(plans, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(plans, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o640)
	})
}

func (a *App) publicURL() string {
	if a.cfg.PublicURL != "" {
		return strings.TrimRight(a.cfg.PublicURL, "/")
	}
	if a.httpsOn() {
		return "https://" + loopbackFor(a.httpLn.Addr().String())
	}
	return "http://" + loopbackFor(a.httpLn.Addr().String())
}

// sandboxBase is what baseUrl="sandbox" and $(Sandbox.Url) mean: "" with --sandbox off (a
// plan that uses it then fails with a clear error instead of a 404).
func (a *App) sandboxBase() string {
	if a.cfg.Sandbox == "off" {
		return ""
	}
	return a.sandboxURL
}

// loopbackFor turns a listen address into one a local client can dial (0.0.0.0 → 127.0.0.1).
func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (a *App) newSIP() error {
	fixed, _ := a.cfg.fixedAdmission() // checked by Validate
	maxCalls, err := a.cfg.maxCalls()
	if err != nil {
		return err
	}
	if fixed {
		a.log.Warn("--admission fixed: new calls are held to --max-calls alone, whatever the media health (a measurement mode, not for production)",
			"max_calls", maxCalls)
	}
	policies, err := a.cfg.SRTPPolicies()
	if err != nil {
		return fmt.Errorf("--srtp: %w", err)
	}
	cfg := ivr.Config{
		SIPAddr:      a.cfg.SIPAddr,
		SRTP:         policies,
		PlanSRTP:     a.planSRTP,
		RTPPortMin:   a.cfg.RTPPortMin,
		RTPPortMax:   a.cfg.RTPPortMax,
		StrictRTP:    a.cfg.RTPStrict,
		Router:       ivr.RouterFunc(a.route),
		NewMasker:    func() media.Masker { return dtmf.NewMasker(dtmf.MaskerConfig{}) },
		RecordDir:    a.cfg.RecordingsDir(),
		Record:       a.cfg.Record,
		MediaTimeout: a.cfg.MediaTimeout,
		RateLimit:    a.cfg.RateLimit,
		MaxCalls:     maxCalls,
		FixedLimit:   fixed,
		Logger:       a.log,
		Metrics:      ivrMetrics{a.metrics},
	}
	if a.cfg.PublicIP != "" {
		ip, err := netip.ParseAddr(a.cfg.PublicIP)
		if err != nil {
			return fmt.Errorf("--public-ip: %w", err)
		}
		cfg.PublicIP = ip
	}
	for _, s := range strings.Fields(a.cfg.AllowList) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("--sip-allow %q: %w", s, err)
		}
		cfg.AllowList = append(cfg.AllowList, p)
	}
	if a.sipTLS != nil {
		cfg.TLSAddr, cfg.TLS = a.cfg.sipTLSAddr(), a.sipTLS.Config()
	}
	if a.cfg.SIPTrace {
		sipsafe.TraceSIP(a.out) // process-global in sipgo: set before the server starts
	}
	srv, err := ivr.NewServer(cfg)
	if err != nil {
		return err
	}
	a.sip = srv
	// The media path is chosen once per process (media.RTPIO sets it up): say which it is.
	a.rtpIO = media.RTPIO()
	a.log.Info("RTP I/O path", "rtp_io", a.rtpIO)
	a.metrics.RegisterCapacity(a.registry, a.capacity, console.CapacityReasons{Degraded: ivr.DegradedReasons, Held: ivr.HeldReasons})
	return nil
}

// capacity is the admission controller's figure for the console and /metrics.
func (a *App) capacity() console.Capacity {
	st := a.sip.Admission()
	b := a.sip.ReceiveBuffers()
	return console.Capacity{Calls: st.Calls, Limit: st.Limit, Ceiling: st.Ceiling, Floor: st.Floor, Auto: st.Auto, Fixed: st.Fixed,
		Refused: st.Refused, Degraded: st.Degraded, Held: st.Held, Late: st.Late,
		CPUShare: st.CPUShare, LateShare: st.LateShare, SkippedFrames: st.SkippedFrames, Behind: st.Behind, SocketDrops: st.SocketDrops,
		RTPIO: a.rtpIO, RTPBufferRequested: b.RTPRequested, RTPBufferGranted: b.RTPGranted,
		SIPBufferRequested: b.SIPRequested, SIPBufferGranted: b.SIPGranted,
		Goroutines: runtime.NumGoroutine(), GoroutinesIdle: int(a.goroutinesIdle.Load())}
}

// handler mounts everything on the one HTTP listener: the payment pages and the sandbox's
// provider API outside the admin auth, the console (API, feed, page, metrics) and the
// sandbox's inspection routes behind it.
func (a *App) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/pay/", a.links)
	mux.Handle("/sandbox/", a.sandboxHandler())
	mux.Handle("/webhooks/provider/", a.hooks)
	mux.Handle("/", console.NewServer(console.Config{
		Store:       a.store,
		Hub:         a.hub,
		Metrics:     a.metrics,
		Gatherer:    a.registry,
		AdminToken:  a.adminToken,
		Plans:       a.plans,
		Logger:      a.log.With("component", "console"),
		Ready:       a.readyErr,
		Done:        a.done,
		Version:     Version,
		Node:        a.node,
		Draining:    a.draining.Load,
		ClientIP:    a.proxies.ClientIP,
		Agents:      agentDesk{a.desk},
		AgentTokens: a.agentTokens,
		Capacity:    a.capacity,
		Payments:    a.lifecycle,
	}))
	return mux
}

// Version is the build's version, set with -ldflags "-X …/internal/app.Version=…".
var Version = "dev"

func (a *App) readyErr() error {
	if !a.ready.Load() {
		return errors.New("starting or draining")
	}
	if len(a.plans.Set().Plans()) == 0 {
		return errors.New("no valid call plan is loaded")
	}
	return nil
}

// SIPAddr is where SIP is served (useful with port 0).
func (a *App) SIPAddr() netip.AddrPort { return a.sip.Addr() }

// HTTPAddr is where HTTP is served.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Store is the node's store (for tests and tools).
func (a *App) Store() *store.Store { return a.store }

// Reload re-reads the plans (SIGHUP, POST /api/plans/reload). Invalid plans keep their
// previous version running.
func (a *App) Reload() error { return a.plans.Reload() }

// Run serves until ctx is done, then drains: new calls get 503, calls in progress may finish
// within the drain timeout, and the HTTP listener closes last.
func (a *App) Run(ctx context.Context) error {
	defer a.closeAll()
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()

	errc := make(chan error, 4)
	go func() {
		ln := a.httpLn
		if a.httpsOn() {
			// cardsafe.Listener above TLS: the read buffers it zeroes hold the decrypted request.
			ln = tls.NewListener(ln, a.httpTLS.Config())
		}
		if err := a.httpSrv.Serve(cardsafe.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if a.sandboxSrv != nil {
		go func() {
			if err := a.sandboxSrv.Serve(cardsafe.Listener(a.sandboxLn)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("sandbox loopback listener: %w", err)
			}
		}()
	}
	go func() {
		if err := a.sip.Serve(bg); err != nil {
			errc <- fmt.Errorf("sip: %w", err)
		}
	}()
	go a.webhooks.Run(bg)
	a.recorder.start(bg)
	go a.callbacks.run(bg)
	go a.live.run(bg)
	// Settle what a previous run of this node left — calls it was serving, payments pending —
	// in the background, once the listeners serve: an attempt whose provider is the embedded
	// sandbox is looked up through our own listener, and calls are answered meanwhile. Attempts
	// too recent to judge are settled on later passes. On a shared database, nodes that die are
	// taken over the same way by a surviving node.
	go func() {
		a.reconcileAtStart(bg)
		gateway.RunReconciler(bg, a.gwStore, a.connectors, a.cfg.Reconcile)
	}()
	if a.store.Shared() {
		a.loops.Add(2)
		go func() { defer a.loops.Done(); a.heartbeat(bg) }()
		go func() { defer a.loops.Done(); a.takeOverLoop(bg) }()
	}
	go a.runLifecycle(bg, lifecycleEvery)
	go a.store.RunRetention(bg, a.cfg.Retention, time.Hour, a.log.With("component", "retention"))
	a.goroutinesIdle.Store(int64(runtime.NumGoroutine()))
	// The banner first: whoever waits for ready (a health check, a test) may read it at once.
	a.banner()
	a.ready.Store(true)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("stopping", "err", runErr)
	}
	a.ready.Store(false)
	a.draining.Store(true)
	if err := a.lease.Renew(context.Background(), store.NodeDraining); err != nil && a.store.Shared() {
		a.log.Warn("recording the drain", "err", err)
	}
	a.log.Info("draining", "timeout", a.cfg.DrainTimeout, "active_calls", a.sip.ActiveCalls())
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
	defer cancel()
	if err := a.sip.Drain(dctx); err != nil {
		a.log.Warn("drain deadline passed with calls still up", "active_calls", a.sip.ActiveCalls())
	}
	a.sip.Close()
	a.calls.Wait()
	a.drainRecords(recordDrainWait)
	a.doneOnce.Do(func() { close(a.done) })
	sctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	_ = a.httpSrv.Shutdown(sctx)
	if a.sandboxSrv != nil {
		_ = a.sandboxSrv.Shutdown(sctx)
	}
	a.callbacks.flush(recordDrainWait) // no call nor API request hands states over any more
	stopBG()
	a.loops.Wait() // before the lease is closed: a late heartbeat must not mark the node up again
	a.recorder.flush()
	return runErr
}

// sandboxHookName is the embedded sandbox's name under /webhooks/provider/.
const sandboxHookName = "sandbox"

// lifecycleEvery is how often holds past their time are expired and operations that got no
// answer are looked up at their provider.
const lifecycleEvery = 30 * time.Second

// opGrace is how old an unanswered operation must be before reconciliation asks its provider
// (longer than any connector timeout: its request may still be on its way).
const opGrace = time.Minute

// runLifecycle expires lapsed holds and settles unanswered operations until ctx ends.
func (a *App) runLifecycle(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := a.lifecycle.ExpireHolds(ctx); err != nil {
			a.log.Error("expiring lapsed authorisations", "err", err)
		} else if n > 0 {
			a.log.Info("authorisations expired", "payments", n)
		}
		if n, err := a.lifecycle.ReconcileOps(ctx, opGrace); err != nil {
			a.log.Error("reconciling payment operations", "err", err)
		} else if n > 0 {
			a.log.Info("payment operations reconciled", "operations", n)
		}
	}
}

// interruptedCause is the hang-up cause of calls a previous run was serving when it stopped.
const interruptedCause = "interrupted: paybridge stopped during the call"

// reconcileAtStart settles what a previous run of this node left (see settle): on SQLite
// everything in the file from before this process started, on a shared database this node's.
func (a *App) reconcileAtStart(ctx context.Context) {
	rep, err := a.settle(ctx, a.node, !a.store.Shared(), a.started, interruptedCause)
	if err != nil && ctx.Err() == nil {
		a.log.Error("settling what the previous run left", "err", err)
	}
	if rep.calls > 0 {
		a.log.Info("ended calls a previous run left in progress", "calls", rep.calls)
	}
	if rep.rec.Checked > 0 {
		a.log.Info("reconciled pending payments", "checked", rep.rec.Checked, "approved", rep.rec.Approved,
			"declined", rep.rec.Declined, "not_sent", rep.rec.NotSent, "unknown", rep.rec.Unknown, "left", rep.rec.Left)
		for _, e := range rep.rec.Errors {
			a.log.Warn("payment left pending", "err", e)
		}
	}
	if rep.records > 0 {
		a.log.Info("completed payment records a previous run had not written", "payments", rep.records)
	}
	a.reconciled.Store(true)
}

// openConnectors opens the connectors of every plan of set — on start and on every reload — so
// that payment links and reconciliation reach each one by its key, and the first call does
// not pay for the token exchange. Connectors of plans since edited or removed stay open
// until restart: links already sent keep reaching the provider they were made with.
func (a *App) openConnectors(set *callplan.PlanSet) {
	for _, p := range set.Plans() {
		for _, c := range p.Connectors {
			spec := c.Spec
			if _, err := a.connectors.Open(&spec); err != nil {
				a.log.Warn("connector not opened", "plan", p.Name, "connector", spec.Name, "err", err)
			}
		}
	}
}

// banner says where everything is, once, on start.
func (a *App) banner() {
	w := a.out
	base := "http://" + loopbackFor(a.HTTPAddr())
	if a.httpsOn() {
		base = "https://" + loopbackFor(a.HTTPAddr())
	}
	fmt.Fprintf(w, "paybridge %s is up\n", Version)
	rtpMode := "SDP address, one early NAT latch"
	if a.cfg.RTPStrict {
		rtpMode = "strict: SDP address only"
	}
	fmt.Fprintf(w, "  SIP          %s (UDP and TCP), media ports %d-%d (%s)\n", a.sip.Addr(), a.cfg.RTPPortMin, a.cfg.RTPPortMax, rtpMode)
	b := a.sip.ReceiveBuffers()
	capped := ""
	if b.Capped() {
		capped = " — capped by net.core.rmem_max"
	}
	fmt.Fprintf(w, "  media I/O    %s; receive buffers rtp %d of %d bytes, sip %d of %d%s\n", a.rtpIO,
		b.RTPGranted, b.RTPRequested, b.SIPGranted, b.SIPRequested, capped)
	if a.sipTLS != nil {
		mtls := ""
		if a.sipTLS.MutualTLS() {
			mtls = ", client certificates required (--tls-client-ca)"
		}
		fmt.Fprintf(w, "  SIP TLS      %s (TLS 1.2+, certificate %s%s)\n", a.sip.TLSAddr(), a.sipTLS.Describe(), mtls)
	}
	p, _ := a.cfg.SRTPPolicies()
	fmt.Fprintf(w, "  SRTP         udp %s, tcp %s, tls %s (--srtp; a plan's srtp attribute may be stricter)\n", p.UDP, p.TCP, p.TLS)
	if a.httpsOn() {
		fmt.Fprintf(w, "  HTTPS        certificate %s; the node's own sandbox requests use %s (loopback only)\n", a.httpTLS.Describe(), a.sandboxLn.Addr())
	}
	fmt.Fprintf(w, "  console      %s/\n", base)
	fmt.Fprintf(w, "  sandbox      %s\n", a.sandboxNote())
	if a.captureLine != nil {
		fmt.Fprintf(w, "  capture line %s (the sandbox's, for capture=\"provider\")\n", a.captureLine.URI())
	}
	if a.paymentKeys > 0 {
		fmt.Fprintf(w, "  signing      payment keys for %d account(s): results posted from outside must be signed\n", a.paymentKeys)
	}
	fmt.Fprintf(w, "  provider in  %s/webhooks/provider/{name} (signed provider events)\n", base)
	fmt.Fprintf(w, "  plan HTTP    %s (--http-allow) and this node\n", a.cfg.HTTPAllow)
	fmt.Fprintf(w, "  speech       %s\n", a.speech.name)
	if a.cfg.TrustedProxies != "" {
		fmt.Fprintf(w, "  proxies      %s (X-Forwarded-For / Forwarded trusted from these)\n", a.cfg.TrustedProxies)
	}
	fmt.Fprintf(w, "  pay pages    %s/pay/…\n", a.publicURL())
	fmt.Fprintf(w, "  data         %s (database %s: %s)\n", a.cfg.DataDir, a.store.Dialect(), a.store.Path())
	fmt.Fprintf(w, "  node         %s\n", a.node)
	fmt.Fprintf(w, "  plans        %s (%d loaded)\n", a.plansDir(), len(a.plans.Set().Plans()))
	switch {
	case a.tokenFile == "":
		fmt.Fprintf(w, "  admin token  from --admin-token / PAYBRIDGE_ADMIN_TOKEN\n")
	case a.tokenNew:
		fmt.Fprintf(w, "  admin token  %s (new: %s — shown once)\n", a.tokenFile, a.adminToken)
	default:
		fmt.Fprintf(w, "  admin token  %s\n", a.tokenFile)
	}
	for _, warning := range a.plaintextWarnings() {
		fmt.Fprintf(w, "  WARNING      %s\n", warning)
		a.log.Warn(warning)
	}
}

func (a *App) closeAll() {
	if a.captureLine != nil {
		a.captureLine.Close()
	}
	if a.sip != nil {
		a.sip.Close()
	}
	if a.lease != nil {
		if err := a.lease.Close(context.Background()); err != nil {
			a.log.Warn("recording the node's stop", "err", err)
		}
	}
	if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.sandboxLn != nil {
		a.sandboxLn.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
	a.lock.Close()
}
