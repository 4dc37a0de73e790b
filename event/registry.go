package event

// registry makes a zero Data for each event type this package defines.
var registry = map[string]func() Data{}

func init() {
	for _, f := range []func() Data{
		func() Data { return new(CallStarted) },
		func() Data { return new(CallAnswered) },
		func() Data { return new(CallEnded) },
		func() Data { return new(StepEntered) },
		func() Data { return new(StepEnded) },
		func() Data { return new(Said) },
		func() Data { return new(Played) },
		func() Data { return new(BargedIn) },
		func() Data { return new(PromptMissing) },
		func() Data { return new(Gathered) },
		func() Data { return new(GatherCardRefused) },
		func() Data { return new(MenuChosen) },
		func() Data { return new(APICalled) },
		func() Data { return new(Authorized) },
		func() Data { return new(ConnectorRequest) },
		func() Data { return new(PayProgress) },
		func() Data { return new(PayCompleted) },
		func() Data { return new(LinkSent) },
		func() Data { return new(LinkFailed) },
		func() Data { return new(LinkOpened) },
		func() Data { return new(LinkPaid) },
		func() Data { return new(LinkDeclined) },
		func() Data { return new(PaymentReconciled) },
		func() Data { return new(PaymentCaptured) },
		func() Data { return new(PaymentCaptureFailed) },
		func() Data { return new(PaymentVoided) },
		func() Data { return new(PaymentVoidFailed) },
		func() Data { return new(RefundPending) },
		func() Data { return new(RefundSucceeded) },
		func() Data { return new(RefundFailed) },
		func() Data { return new(CaptureSettled) },
		func() Data { return new(PaymentExpired) },
		func() Data { return new(PaymentChargedBack) },
		func() Data { return new(PayRouted) },
	} {
		registry[f().Type()] = f
	}
}
