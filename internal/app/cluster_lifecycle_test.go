package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// TestClusterRefundsAcrossNodes: an authorisation taken by a call on n1 is captured through
// n2's admin API, then refunded by ten concurrent requests of 10.00 spread over both nodes'
// APIs against 50.00 captured: exactly five succeed, whichever node they reached, and the
// shared record, its history and the provider's ledger all say 50.00 refunded.
func TestClusterRefundsAcrossNodes(t *testing.T) {
	prov := sandbox.New(sandbox.Config{})
	provSrv := httptest.NewServer(prov)
	defer provSrv.Close()
	dir := t.TempDir()
	src := fmt.Sprintf(`<CallPlan name="cluster-hold"><Match number="+441632960803"/>
<Connector name="provider" baseUrl=%q account="cluster-merchant"><ClientCredentials clientId="c" clientSecret="#(env:C_SECRET:-c-secret)"/></Connector>
<Flow><Pay connector="provider" method="authorize" amount="50.00" currency="GBP" reference="HOLD-CL"/><Hangup/></Flow></CallPlan>`, provSrv.URL)
	if err := os.WriteFile(filepath.Join(dir, "hold.xml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	db := testDatabase(t)
	n1, _, stop1 := startNode(t, "--db", db, "--node-id", "n1", "--plans", dir, "--rtp-ports", "41500-41600")
	defer stop1()
	n2, _, stop2 := startNode(t, "--db", db, "--node-id", "n2", "--plans", dir, "--rtp-ports", "41600-41700")
	defer stop2()

	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+441632960803@%s", n1.SIPAddr()),
		From: "+447700900123", Digits: "4242424242424242#W1230#W123#", Timeout: 60 * time.Second})
	if err != nil || !res.Answered {
		t.Fatalf("Dial = %+v, %v", res, err)
	}
	held := waitPayment(t, n2, "HOLD-CL", func(p store.PaymentSession) bool { return p.Lifecycle == "authorized" })
	base := "/api/payments/" + held.ID
	if code, ans := adminPost(t, n2, base+"/capture", "cl-cap", ``); code != 200 || ans.Payment.CapturedMinor != 5000 {
		t.Fatalf("capture on n2 = %d %+v", code, ans.Payment)
	}

	var mu sync.Mutex
	byCode := map[int]int{}
	var wg sync.WaitGroup
	for i := range 10 {
		node := n1
		if i%2 == 1 {
			node = n2
		}
		wg.Go(func() {
			code, _ := adminPost(t, node, base+"/refunds", fmt.Sprintf("cl-ref-%d", i), `{"amount":"10.00"}`)
			mu.Lock()
			byCode[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if byCode[http.StatusOK] != 5 || byCode[http.StatusUnprocessableEntity]+byCode[http.StatusConflict] != 5 {
		t.Fatalf("refunds over two nodes: %v; want 5 × 200 and 5 refused", byCode)
	}
	for _, n := range []*App{n1, n2} {
		p, _, err := n.Store().GetPayment(context.Background(), held.ID)
		if err != nil || p.RefundedMinor != 5000 || p.Lifecycle != "refunded" {
			t.Fatalf("record on a node: %+v, %v", p, err)
		}
	}
	var charges []sandbox.Charge
	for _, c := range prov.Ledger() {
		if c.SessionID == held.ID {
			charges = append(charges, c)
		}
	}
	if len(charges) != 1 || charges[0].Captured != 5000 || charges[0].Refunded != 5000 {
		t.Fatalf("provider ledger %+v", charges)
	}
	var hist struct{ Items []store.HistoryEntry }
	adminGet(t, n1, base+"/history", &hist)
	refunded := 0
	for i, h := range hist.Items {
		if h.Seq != i+1 {
			t.Fatalf("history seq %d at line %d", h.Seq, i)
		}
		if h.Action == "refunded" {
			refunded++
		}
	}
	if refunded != 5 {
		t.Fatalf("history has %d refunds: %+v", refunded, hist.Items)
	}
}
