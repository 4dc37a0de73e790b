package callplan

import (
	"os"
	"testing"
)

// BenchmarkParseVCC parses and validates the VCC example plan (~6 KB, 5 ApiInteractions).
func BenchmarkParseVCC(b *testing.B) {
	src, err := os.ReadFile("../examples/plans/vcc-secure-payments.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := Parse("vcc.xml", src, noEnv); ds.HasErrors() {
			b.Fatal(ds)
		}
	}
}

// BenchmarkLoadDirExamples loads the whole example directory as serve would.
func BenchmarkLoadDirExamples(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := LoadDir("../examples/plans", noEnv); len(ds) > 0 {
			b.Fatal(ds)
		}
	}
}

func BenchmarkExprEval(b *testing.B) {
	e := mustParseExpr("$(Pay.Result) == success and ($(Amount) > 9.5 or empty($(Mobile)))")
	vars := map[string]string{"Pay.Result": "success", "Amount": "12.34", "Mobile": "+447700900123"}
	lookup := langLookup(vars)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := e.Eval(lookup); !ok {
			b.Fatal("false")
		}
	}
}

func BenchmarkExpandJSONBody(b *testing.B) {
	tmpl := `{"AccountConfigurationId":"acct", "CallGuid": "$(CallGuid)", "PaymentData": { "cardholderName":"$(Name)", "merchantTxnRef":"$(Ref)", "amount":"$(Amount)" } }`
	lookup := langLookup(map[string]string{"CallGuid": "c-1", "Name": `O"Brien`, "Ref": "12345678", "Amount": "12.34"})
	esc := bodyEscaper("application/json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expand(tmpl, lookup, esc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocateJSON(b *testing.B) {
	body := []byte(locJSON)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := parseResponse(ResponseJSON, body)
		if err != nil {
			b.Fatal(err)
		}
		if v, err := doc.Locate("items[0].tags[1]"); err != nil || v != "y" {
			b.Fatal(v, err)
		}
	}
}
