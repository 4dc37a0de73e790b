package engine

import (
	"context"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
)

// BenchmarkRunPay runs a whole call — Gather, Pay with 23 keys, a Switch and the confirmation
// read back — on a virtual clock with an in-memory connector: the engine's own cost per call.
//
//	go test -run '^$' -bench RunPay ./callplan
func BenchmarkRunPay(b *testing.B) {
	plan, ds := callplan.Parse("bench.xml", []byte(flowPlan(`<Gather var="Account" minDigits="8" maxDigits="8" prompt="enter-account"/>
	<Pay connector="provider" amount="12.50" currency="GBP" reference="$(Account)"/>
	<Switch value="$(Pay.Result)"><Case is="success"><Play prompt="payment-accepted"/><SayDigits value="$(Pay.ConfirmationCode)"/></Case>
	<Default><Play prompt="payment-failed"/></Default></Switch><Hangup/>`)), nil)
	if ds.HasErrors() {
		b.Fatal(ds.String())
	}
	conns := &fakeConnectors{conn: &fakeConnector{}}
	var virtual time.Duration
	for b.Loop() {
		clock := NewVirtualClock(testStart)
		ch := newTestChannel(clock)
		ch.press(500*time.Millisecond, "12345678 W 4242424242424242# 1228 123")
		conns.conn.reqs, conns.conn.numbers, conns.conn.cvvs, conns.conn.memory = nil, nil, nil, nil
		out, err := Run(context.Background(), plan, ch, RunOptions{Clock: clock, Connectors: conns})
		if err != nil || out.Variables["Pay.Result"] != callplan.PayResultSuccess {
			b.Fatalf("%v %v", err, out.Variables["Pay.Result"])
		}
		virtual = out.Duration
	}
	b.ReportMetric(float64(virtual)/float64(b.Elapsed()/time.Duration(b.N)), "x_realtime")
}

// BenchmarkRunVariables is a Pay call's variables on a new run: the call's own five, then a
// Pay's outputs set empty when it starts and set again when it ends (what stepPay and
// publishPay do) — the run's variable map from empty to its size at the end of a payment.
//
//	go test ./engine -run '^$' -bench RunVariables -benchmem -count 6
func BenchmarkRunVariables(b *testing.B) {
	plan, ds := callplan.Parse("bench.xml", []byte(flowPlan(`<Hangup/>`)), nil)
	if ds.HasErrors() {
		b.Fatal(ds.String())
	}
	outputs := (&callplan.PayStep{}).Outputs()
	names := make([]string, len(outputs))
	for i, o := range outputs {
		names[i] = "Pay." + o
	}
	ch := newTestChannel(NewVirtualClock(testStart))
	for b.Loop() {
		r := newRun(plan, ch, RunOptions{Clock: ch.clock, SinkOnly: true})
		for _, n := range names {
			r.set(n, "")
		}
		for _, n := range names {
			r.set(n, "x")
		}
	}
}
