package payment

import (
	"errors"
	"fmt"
	"testing"
)

func TestCheckPayMethod(t *testing.T) {
	for _, c := range []struct {
		typ, method, pm string
		ok              bool
	}{
		{"session", MethodAuthorize, PaymentMethodACH, true},
		{"generic", MethodAuthorize, PaymentMethodACH, true},
		{"stripe", MethodAuthorize, PaymentMethodCard, true},
		{"stripe", MethodCharge, PaymentMethodACH, false},
		{"", MethodCharge, "", true},
		{"session", "capture", "", false},
		{"session", "", "paypal", false},
	} {
		err := CheckPayMethod(c.typ, c.method, c.pm)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("CheckPayMethod(%q, %q, %q) = %v, want ok=%v", c.typ, c.method, c.pm, err, c.ok)
		}
	}
}

func TestFailOver(t *testing.T) {
	notCharged := fmt.Errorf("capture: no answer: %w", ErrNotCharged)
	for _, c := range []struct {
		res    *Result
		err    error
		ok     bool
		reason string
	}{
		{nil, notCharged, true, RouteUnavailable},
		{nil, errors.New("timeout"), false, RouteUnknown},
		{&Result{Status: Approved}, nil, false, RouteApproved},
		{&Result{Status: Declined, ErrorCode: "processing_error", Retryable: true}, nil, true, RouteSoftDecline},
		{&Result{Status: Declined, ErrorCode: "card_declined"}, nil, false, RouteDeclined},
		{nil, nil, false, RouteUnknown},
	} {
		ok, reason := FailOver(c.res, c.err)
		if ok != c.ok || reason != c.reason {
			t.Errorf("FailOver(%+v, %v) = %v %s, want %v %s", c.res, c.err, ok, reason, c.ok, c.reason)
		}
	}
}

func TestMethodOfAndInvoiceTotal(t *testing.T) {
	if m := (&Request{Amount: Amount{Minor: 1}}).MethodOf(); m != MethodCharge {
		t.Error(m)
	}
	if m := (&Request{}).MethodOf(); m != MethodTokenize {
		t.Error(m)
	}
	if m := (&Request{Method: MethodAuthorize, Amount: Amount{Minor: 1}}).MethodOf(); m != MethodAuthorize {
		t.Error(m)
	}
	inv := &Invoice{Lines: []InvoiceLine{{Quantity: 2, AmountMinor: 500}, {Quantity: 1, AmountMinor: 234}}}
	if inv.Total() != 1234 || (*Invoice)(nil).Total() != 0 {
		t.Error(inv.Total())
	}
}
