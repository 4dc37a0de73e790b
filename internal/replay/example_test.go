package replay_test

import (
	"context"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/internal/replay"
)

// Replaying typed keys through the VCC plan against the sandbox provider.
func ExampleRun() {
	sb, err := replay.StartSandbox(nil)
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	plan, ds := callplan.ParseFile("../../examples/plans/vcc-secure-payments.xml", func(string) string { return "" })
	if ds.HasErrors() {
		panic(ds.String())
	}
	in, _ := replay.ParseDigits("12345678 W 5555555555554444# 1230 123")
	opts := sb.Options()
	opts.Plan, opts.Start = plan, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	res, err := replay.Run(context.Background(), in, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Outcome, res.Reason, res.Variables["Pay.Result"], res.Variables["Pay.CardType"], res.Variables["Pay.MaskedCard"])
	// Output: hangup paid success mastercard ************4444
}
