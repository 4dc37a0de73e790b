package callplan_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/paybridge/paybridge/callplan"
)

// A plan is parsed and validated in one call; each problem comes back with its position.
func ExampleParse() {
	src := `<CallPlan name="demo">
  <Match number="+441632960000"/>
  <Flow>
    <Gathr var="Account" maxDigits="8"/>
    <Play prompt="welcome" bargein="false"/>
    <SayDigits value="$(Acount)"/>
  </Flow>
</CallPlan>`
	_, diags := callplan.Parse("demo.xml", []byte(src), os.Getenv)
	for _, d := range diags {
		fmt.Println(d)
	}
	fmt.Println("refused:", diags.HasErrors())
	// Output:
	// demo.xml:4:5: unknown element <Gathr> (did you mean "Gather"?)
	// demo.xml:5:28: unknown attribute bargein on <Play> (did you mean "bargeIn"?)
	// demo.xml:6:23: $(Acount) is never set: no step assigns it and it is not a built-in (did you mean "Account"?)
	// refused: true
}

// An <If> test compares decimals as numbers and everything else as strings; a test that does
// not parse is reported where it stands.
func ExampleExpr_Eval() {
	src := `<CallPlan name="demo">
  <Match number="+441632960000"/>
  <Flow>
    <Gather var="Amount"/>
    <If test="$(Call.From) == 200 and ($(Amount) > 9.5 or empty($(Call.To)))"><Hangup/></If>
  </Flow>
</CallPlan>`
	plan, _ := callplan.Parse("demo.xml", []byte(src), os.Getenv)
	test := plan.Flow[1].(*callplan.IfStep).Branches[0].Test
	vars := map[string]string{"Call.From": "200", "Amount": "10.00"}
	ok, _ := test.Eval(func(n string) (string, bool) { v, set := vars[n]; return v, set })
	fmt.Println(test, "→", ok)

	_, diags := callplan.Parse("bad.xml", []byte(strings.Replace(src, "== 200", "= 200", 1)), os.Getenv)
	fmt.Println(diags[0])
	// Output:
	// $(Call.From) == 200 and ($(Amount) > 9.5 or empty($(Call.To))) → true
	// bad.xml:5:28: test: unknown operator "=" (use == or !=)
}

// Expand fills in variables as they are, for prompt names and Set values.
func ExampleExpand() {
	vars := map[string]string{"Lang": "en", "Account": "12345678"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	s, _ := callplan.Expand("welcome-$(Lang) account $(Account)$(Unset)", lookup)
	fmt.Println(s)
	// Output:
	// welcome-en account 12345678
}

// An ApiInteraction's request escapes each variable for where it goes, so a value cannot
// change the structure around it.
func ExampleAPIRequest_NewRequest() {
	vars := map[string]string{"Name": `O"Brien & Co`, "Sandbox.Url": "http://127.0.0.1:8080", "Id": "a/b c"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	r := &callplan.APIRequest{Method: "POST", URL: "$(Sandbox.Url)/globalpci/v1/session/$(Id)?name=$(Name)",
		Body: `{"name":"$(Name)"}`}
	req, _ := r.NewRequest(context.Background(), lookup)
	body, _ := io.ReadAll(req.Body)
	fmt.Println(req.Method, req.URL)
	fmt.Println(req.Header.Get("Content-Type"), string(body))

	evil := &callplan.APIRequest{URL: "https://billing.example.com/", Headers: []callplan.Header{{Key: "Authorization", Value: "Bearer $(Evil)"}}}
	_, err := evil.NewRequest(context.Background(), func(string) (string, bool) { return "x\r\nX-Admin: 1", true })
	fmt.Println(err)
	// Output:
	// POST http://127.0.0.1:8080/globalpci/v1/session/a%2Fb%20c?name=O%22Brien+%26+Co
	// application/json {"name":"O\"Brien & Co"}
	// header Authorization: $(Evil): callplan: value not allowed in this context: control character 0x0d in a header value
}

// A response's fields are located in JSON (dotted, 0-based indexes) or XML (slashes,
// 1-based) and converted to their DataType.
func ExampleAPIResponse_Values() {
	r := &callplan.APIResponse{Type: callplan.ResponseJSON, Fields: []callplan.Field{
		{Locator: "items[1].id", Destination: "Id", DataType: callplan.DataString},
		{Locator: "items.1.price", Destination: "Price", DataType: callplan.DataDecimal},
		{Locator: "items.2.id", Destination: "Missing", DataType: callplan.DataString},
	}}
	values, err := r.Values([]byte(`{"items":[{"id":"a"},{"id":"b","price":1.5e1}]}`))
	fmt.Printf("%q %v\n", values, err)

	x := &callplan.APIResponse{Type: callplan.ResponseXML, Fields: []callplan.Field{
		{Locator: "r/s/@state", Destination: "State"}, {Locator: "/r/s/id", Destination: "Session"},
	}}
	values, err = x.Values([]byte(`<r><s state="Completed"><id>S1</id></s></r>`))
	fmt.Printf("%q %v\n", values, err)
	// Output:
	// ["b" "15" ""] <nil>
	// ["Completed" "S1"] <nil>
}

// A PlanSet answers a dialled number with its plan: exact E.164, then the digits with '+',
// then the fallback.
func ExampleLoadDir() {
	set, diags := callplan.LoadDir("../examples/plans", func(string) string { return "" })
	fmt.Println("problems:", len(diags))
	for _, n := range []string{"+441632960100", "441632960208", "+15555550100"} {
		p, _ := set.Match(n)
		fmt.Println(n, "→", p.Name)
	}
	// Output:
	// problems: 0
	// +441632960100 → vcc-secure-payments
	// 441632960208 → pay
	// +15555550100 → fallback
}
