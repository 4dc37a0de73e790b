package callplan

import (
	"errors"
	"strings"
	"testing"
)

const locJSON = `{
  "access_token": "tok-1", "expires_in": 3600, "ok": true, "none": null,
  "balance": {"amount": "12.34", "value": 12.5, "big": 1.5e2},
  "items": [{"id": "a", "tags": ["x", "y"]}, {"id": "b"}],
  "matrix": [[1, 2], [3, 4]],
  "weird key": "w", "a.b": {"c[0]": "dotted"}, "q'": 1,
  "obj": {"k": [1, 2]}
}`

func TestLocateJSON(t *testing.T) {
	doc, err := parseResponse(ResponseJSON, []byte(locJSON))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"access_token":     "tok-1",
		"expires_in":       "3600",
		"ok":               "true",
		"none":             "",
		"balance.amount":   "12.34",
		"balance.value":    "12.5",
		"balance.big":      "1.5e2",
		"items[0].id":      "a",
		"items.1.id":       "b",
		"items[0].tags[1]": "y",
		"items.0.tags.0":   "x",
		"matrix[1][0]":     "3",
		"matrix.0.1":       "2",
		"weird key":        "w",
		"['a.b']['c[0]']":  "dotted",
		`["q'"]`:           "1",
		"obj":              `{"k":[1,2]}`,
		"obj.k":            "[1,2]",
	}
	for loc, want := range tests {
		got, err := doc.Locate(loc)
		if err != nil || got != want {
			t.Errorf("Locate(%q) = %q, %v; want %q", loc, got, err, want)
		}
	}
	notFound := []string{`["a.b"].c[0]`, "missing", "balance.missing", "items[2].id", "items.9", "items.id", "access_token.x", "balance[0]", "none.x"}
	for _, loc := range notFound {
		if _, err := doc.Locate(loc); !errors.Is(err, errNotFound) {
			t.Errorf("Locate(%q) err = %v, want ErrNotFound", loc, err)
		}
	}
	malformed := []string{"", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", "a]b", "a[0]b", "[1234567890]", "['a", "['a'", "['a'x]", "['a']b"}
	for _, loc := range malformed {
		if _, err := doc.Locate(loc); !errors.Is(err, errLocator) {
			t.Errorf("Locate(%q) err = %v, want ErrLocator", loc, err)
		}
		if err := checkJSONLocator(loc); !errors.Is(err, errLocator) {
			t.Errorf("ParseJSONLocator(%q) = %v, want ErrLocator", loc, err)
		}
	}
}

func TestLocateJSONTopLevelArray(t *testing.T) {
	doc, err := parseResponse(ResponseJSON, []byte(`[{"name":"first"},{"name":"second"}]`))
	if err != nil {
		t.Fatal(err)
	}
	for loc, want := range map[string]string{"[1].name": "second", "0.name": "first"} {
		if got, err := doc.Locate(loc); err != nil || got != want {
			t.Errorf("Locate(%q) = %q, %v", loc, got, err)
		}
	}
}

func TestParseResponseErrors(t *testing.T) {
	bad := []struct {
		typ  ResponseType
		body string
	}{
		{ResponseJSON, ""},
		{ResponseJSON, "{"},
		{ResponseJSON, `{"a":1} {"b":2}`},
		{ResponseJSON, "<xml/>"},
		{ResponseXML, ""},
		{ResponseXML, "<a><b></a>"},
		{ResponseXML, "<a/><b/>"},
		{ResponseXML, `{"json":true}`},
		{"YAML", "a: 1"},
		{ResponseJSON, strings.Repeat(" ", MaxResponseBytes+1)},
	}
	for _, b := range bad {
		if _, err := parseResponse(b.typ, []byte(b.body)); !errors.Is(err, errLocator) {
			t.Errorf("ParseResponse(%s, %.20q) = %v, want ErrLocator", b.typ, b.body, err)
		}
	}
}

const locXML = `<?xml version="1.0"?>
<Response xmlns="urn:x" xmlns:p="urn:p">
  <Session state="Completed" p:id="S1">
    <Id> S-123 </Id>
    <Amount currency="GBP">12.34</Amount>
  </Session>
  <Items>
    <Item><Price>1.00</Price></Item>
    <Item><Price>2.00</Price></Item>
  </Items>
  <p:Code>42</p:Code>
</Response>`

func TestLocateXML(t *testing.T) {
	doc, err := parseResponse(ResponseXML, []byte(locXML))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"Response/Session/Id":               "S-123",
		"/Response/Session/Id":              "S-123",
		"Response/Session/@state":           "Completed",
		"Response/Session/@id":              "S1",
		"Response/Session/Amount/@currency": "GBP",
		"Response/Items/Item[2]/Price":      "2.00",
		"Response/Items/Item[1]/Price":      "1.00",
		"Response/Items/Item/Price":         "1.00",
		"Response/Code":                     "42",
	}
	for loc, want := range tests {
		got, err := doc.Locate(loc)
		if err != nil || got != want {
			t.Errorf("Locate(%q) = %q, %v; want %q", loc, got, err, want)
		}
	}
	for _, loc := range []string{"Session/Id", "Response/Items/Item[3]", "Response/Session/@missing", "Response/Nope"} {
		if _, err := doc.Locate(loc); !errors.Is(err, errNotFound) {
			t.Errorf("Locate(%q) = %v, want ErrNotFound", loc, err)
		}
	}
	for _, loc := range []string{"", "/", "a//b", "a/@x/b", "@x", "a/b[0]", "a/b[x]", "a/[1]", "a/b[1"} {
		if err := checkXMLLocator(loc); !errors.Is(err, errLocator) {
			t.Errorf("ParseXMLLocator(%q) = %v, want ErrLocator", loc, err)
		}
	}
}

func TestConvertValue(t *testing.T) {
	ok := []struct {
		in   string
		dt   DataType
		want string
	}{
		{" padded ", DataString, " padded "},
		{"12.34", DataDecimal, "12.34"},
		{"+12.34", DataDecimal, "12.34"},
		{"1.5e2", DataDecimal, "150"},
		{"1.25E-1", DataDecimal, "0.125"},
		{"7", DataDecimal, "7"},
		{"", DataDecimal, ""},
		{"42", DataInteger, "42"},
		{"-3", DataInteger, "-3"},
		{"12.0", DataInteger, "12"},
		{"1e3", DataInteger, "1000"},
		{"TRUE", DataBoolean, "true"},
		{"1", DataBoolean, "true"},
		{"no", DataBoolean, "false"},
		{"", DataBoolean, ""},
		{"x", "", "x"},
	}
	for _, tt := range ok {
		got, err := convertValue(tt.in, tt.dt)
		if err != nil || got != tt.want {
			t.Errorf("ConvertValue(%q, %s) = %q, %v; want %q", tt.in, tt.dt, got, err, tt.want)
		}
	}
	bad := []struct {
		in string
		dt DataType
	}{
		{"abc", DataDecimal}, {"1,000", DataDecimal}, {"1e999", DataDecimal}, {"NaN", DataDecimal},
		{"12.5", DataInteger}, {"x", DataInteger}, {"maybe", DataBoolean}, {"1", "Date"},
		{"4242424242424242x", DataInteger},
	}
	for _, tt := range bad {
		_, err := convertValue(tt.in, tt.dt)
		if !errors.Is(err, errDataType) {
			t.Errorf("ConvertValue(%q, %s) err = %v, want ErrDataType", tt.in, tt.dt, err)
			continue
		}
		if strings.Contains(err.Error(), tt.in) && len(tt.in) > 1 {
			t.Errorf("ConvertValue error quotes the value: %v", err)
		}
	}
}

func TestSecretLocator(t *testing.T) {
	for loc, want := range map[string]bool{
		"access_token": true, "AccessToken": true, "data.refresh_token": true, "auth['client_secret']": true,
		"a/b/@password": true, "apiKey": true, "token_type": false, "balance.amount": false, "sessionId": false,
		"customer.mobile": false, "items[0].secret": false, "items[0].api_key": true,
	} {
		if got := secretLocator(loc); got != want {
			t.Errorf("SecretLocator(%q) = %v, want %v", loc, got, want)
		}
	}
	if _, ds := Parse("p.xml", []byte(wrapFlow(`<ApiInteraction><Request><Url>https://x.example</Url></Request><Response><Fields>
<Field secret="maybe"><Locator>a</Locator><Destination>A</Destination></Field></Fields></Response></ApiInteraction>`)), nil); !ds.HasErrors() {
		t.Error(`secret="maybe" accepted`)
	}
}
