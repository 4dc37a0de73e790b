package callplan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paybridge/paybridge/payment"
)

// <Merchant> on the plan names every connector's merchant; one inside a <Connector> names
// that connector's. The logo is resolved against the plan's directory and read at load.
func TestParseMerchant(t *testing.T) {
	dir := t.TempDir()
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	if err := os.WriteFile(filepath.Join(dir, "acme.png"), []byte(png), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `<CallPlan name="m">
  <Match number="+441632960000"/>
  <Merchant name="Acme Water" logo="acme.png" support="#(env:SUPPORT)" locale="en-GB"/>
  <Connector name="main" baseUrl="sandbox"/>
  <Connector name="spain" baseUrl="sandbox"><Merchant name="Acme Agua" locale="es-ES"/></Connector>
  <Flow>
    <Pay connector="main" amount="5" currency="GBP"/>
    <Pay connector="spain" amount="5" currency="EUR" var="Es"/>
  </Flow>
</CallPlan>`
	path := filepath.Join(dir, "m.xml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, ds := ParseFile(path, func(k string) string { return map[string]string{"SUPPORT": "0800 123 4567"}[k] })
	if ds.HasErrors() {
		t.Fatalf("diagnostics: %v", ds)
	}
	want := payment.Merchant{Name: "Acme Water", Logo: filepath.Join(dir, "acme.png"), Support: "0800 123 4567", Locale: "en-GB"}
	if p.Merchant == nil || *p.Merchant != want {
		t.Fatalf("plan merchant %+v, want %+v", p.Merchant, want)
	}
	if m := p.Connector("main").Spec.Merchant; m == nil || *m != want {
		t.Errorf("main connector's merchant %+v, want the plan's", m)
	}
	if m := p.Connector("spain").Spec.Merchant; m == nil || *m != (payment.Merchant{Name: "Acme Agua", Locale: "es-ES"}) {
		t.Errorf("spain connector's merchant %+v", m)
	}

	// No <Merchant>: none (serve's default applies).
	p, ds = Parse("t.xml", []byte(wrapFlow(`<Pay connector="provider" amount="5" currency="GBP"/>`)), nil)
	if ds.HasErrors() || p.Merchant != nil || p.Connector("provider").Spec.Merchant != nil {
		t.Fatalf("plan without <Merchant>: %v %+v", ds, p.Merchant)
	}
}
