package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/store"
)

// TestConsoleChromiumAdmission drives the console page in headless Chromium against
// console.NewServer with an admission figure that changes under it: the overview shows the
// call limit with the calls refused, why the limit stands where it is (held for CPU with the
// share, then lowered for late packets), the media path, goroutines per call, and a warning when
// the kernel caps the receive buffers — and it follows the figure without any call event (a
// refused call publishes none). Screenshot: console-admission.png (artifact).
func TestConsoleChromiumAdmission(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paybridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	capNow := console.Capacity{Calls: 100, Limit: 200, Ceiling: 5000, Floor: 100, Auto: true, Refused: 3, Held: "cpu",
		CPUShare: 0.93, LateShare: 0.002, SocketDrops: 0, RTPIO: "epoll",
		RTPBufferRequested: 262144, RTPBufferGranted: 212992, SIPBufferRequested: 4194304, SIPBufferGranted: 212992,
		Goroutines: 420, GoroutinesIdle: 120}
	capacity := func() console.Capacity { mu.Lock(); defer mu.Unlock(); return capNow }
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(console.NewServer(console.Config{Store: st, Hub: console.NewHub(), Metrics: console.NewMetrics(reg), Gatherer: reg,
		AdminToken: consoleTestToken, Plans: staticPlans{}, Capacity: capacity, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()

	b := startConsoleBrowser(t, 1366, 900)
	consoleSignIn(t, b, srv.URL, consoleTestToken)
	b.waitFor("call limit", `document.querySelector("#stat-capacity").textContent === "200 (3 refused)"`, 10*time.Second)
	b.waitFor("held for CPU", `document.querySelector("#stat-admission").dataset.reason === "cpu"`, 10*time.Second)
	var adm, mediaText string
	b.mustEval(`document.querySelector("#stat-admission").textContent`, &adm)
	if !strings.Contains(adm, "held: cpu (93 % of the CPUs)") || !strings.Contains(adm, "late 0.2 %") {
		t.Errorf("admission shows %q", adm)
	}
	b.mustEval(`document.querySelector("#stat-media").textContent`, &mediaText)
	for _, want := range []string{"epoll", "420 goroutines (120 with no call), ≈ 3.0 per call", "capped by net.core.rmem_max", "rtp 208 KiB of 256 KiB"} {
		if !strings.Contains(mediaText, want) {
			t.Errorf("media path shows %q, want %q in it", mediaText, want)
		}
	}

	// The media degrades and calls are refused: no event reaches the page, the poll does.
	mu.Lock()
	capNow.Held, capNow.Degraded, capNow.Limit, capNow.Refused, capNow.LateShare = "", "send-late", 90, 17, 0.031
	capNow.RTPBufferGranted, capNow.SIPBufferGranted = 262144, 4194304
	mu.Unlock()
	b.waitFor("lowered for late packets", `document.querySelector("#stat-admission").dataset.reason === "send-late"`, 15*time.Second)
	b.waitFor("refusals counted", `document.querySelector("#stat-capacity").textContent === "90 (17 refused, degraded: send-late)"`, 15*time.Second)
	b.mustEval(`document.querySelector("#stat-admission").textContent`, &adm)
	if !strings.Contains(adm, "lowered: send-late") || !strings.Contains(adm, "late 3.1 %") {
		t.Errorf("admission shows %q", adm)
	}
	var capped bool
	b.mustEval(`!!document.querySelector("#stat-media [data-rcvbuf-capped]")`, &capped)
	if capped {
		t.Error("the receive-buffer warning stays with the buffers granted in full")
	}
	b.screenshot(artifact(t, "console-admission.png"))
	consoleChecks(t, b)
}
