package callplan_test

import (
	"fmt"
	"os"

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
	// demo.xml:6:23: $(Acount) is never set: no step assigns it and it is not a built-in
	// refused: true
}

// Test expressions compare decimals as numbers and everything else as strings.
func ExampleParseExpr() {
	e, err := callplan.ParseExpr("$(Status) == 200 and ($(Amount) > 9.5 or empty($(Mobile)))")
	if err != nil {
		panic(err)
	}
	vars := map[string]string{"Status": "200", "Amount": "10.00"}
	ok, _ := e.Eval(func(n string) (string, bool) { v, set := vars[n]; return v, set })
	fmt.Println(ok, e.Vars())

	_, err = callplan.ParseExpr("$(Status) = 200")
	fmt.Println(err)
	// Output:
	// true [Status Amount Mobile]
	// column 11: unknown operator "=" (use == or !=)
}

// Each context gets its own escaping, so a variable cannot change the structure around it.
func ExampleExpand() {
	vars := map[string]string{"Name": `O"Brien & Co`, "Sandbox.Url": "http://127.0.0.1:8080", "Id": "a/b c"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }

	body, _ := callplan.Expand(`{"name":"$(Name)"}`, lookup, callplan.BodyEscaper("application/json"))
	form, _ := callplan.Expand(`name=$(Name)&x=1`, lookup, callplan.BodyEscaper("application/x-www-form-urlencoded"))
	u, _ := callplan.ExpandURL("$(Sandbox.Url)/globalpci/v1/session/$(Id)", lookup)
	_, err := callplan.Expand("Bearer $(Evil)", func(string) (string, bool) { return "x\r\nX-Admin: 1", true }, callplan.EscapeHeader)
	fmt.Println(body)
	fmt.Println(form)
	fmt.Println(u)
	fmt.Println(err)
	// Output:
	// {"name":"O\"Brien & Co"}
	// name=O%22Brien+%26+Co&x=1
	// http://127.0.0.1:8080/globalpci/v1/session/a%2Fb%20c
	// $(Evil): callplan: value not allowed in this context: control character 0x0d in a header value
}

// Locators pick values out of JSON (dotted, 0-based indexes) and XML (slashes, 1-based).
func ExampleParseResponse() {
	doc, _ := callplan.ParseResponse(callplan.ResponseJSON, []byte(`{"items":[{"id":"a"},{"id":"b","price":1.5e1}]}`))
	id, _ := doc.Locate("items[1].id")
	price, _ := doc.Locate("items.1.price")
	dec, _ := callplan.ConvertValue(price, callplan.DataDecimal)
	fmt.Println(id, price, dec)

	xdoc, _ := callplan.ParseResponse(callplan.ResponseXML, []byte(`<r><s state="Completed"><id>S1</id></s></r>`))
	state, _ := xdoc.Locate("r/s/@state")
	sid, _ := xdoc.Locate("/r/s/id")
	fmt.Println(state, sid)
	// Output:
	// b 1.5e1 15
	// Completed S1
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
