package callplan

import (
	"errors"
	"reflect"
	"testing"
)

func langLookup(vars map[string]string) func(string) (string, bool) {
	return func(n string) (string, bool) {
		v, ok := vars[n]
		return v, ok
	}
}

func TestExprEval(t *testing.T) {
	vars := map[string]string{
		"Status": "200", "Amount": "10.50", "Name": "alice", "Empty": "",
		"GlobalPCI|SessionId": "s-1", "Pay.Result": "success", "Zero": "0", "False": "false",
	}
	tests := []struct {
		src  string
		want bool
	}{
		{"$(Status) == 200", true},
		{"$(Status) == 200.00", true}, // decimals compare numerically
		{"$(Status) != 200", false},
		{"$(Amount) > 10", true},
		{"$(Amount) > 10.5", false},
		{"$(Amount) >= 10.5", true},
		{"$(Amount) < 9.99", false},
		{"$(Amount) <= 10.50", true},
		{"$(Amount) > 2", true}, // numeric, not "10.50" < "2" as strings
		{"-1 < 0", true},
		{"$(Name) == alice", true},
		{"$(Name) == 'alice'", true},
		{`$(Name) == "Alice"`, false},
		{"$(Name) < bob", true}, // strings compare bytewise
		{"$(Name) == 200", false},
		{"empty($(Empty))", true},
		{"empty($(Unset))", true},
		{"empty( $(Name) )", false},
		{"not empty($(Name))", true},
		{"$(Name)", true},
		{"$(Empty)", false},
		{"$(Zero)", false},
		{"$(False)", false},
		{"$(Status) == 200 and $(Name) == alice", true},
		{"$(Status) == 404 or $(Name) == alice", true},
		{"$(Status) == 404 or $(Name) == bob and $(Amount) > 1", false},
		{"($(Status) == 404 or $(Name) == alice) and $(Amount) > 1", true},
		{"not ($(Status) == 404)", true},
		{"not not $(Name) == alice", true},
		{"$(GlobalPCI|SessionId) == s-1", true},
		{"$(Pay.Result) == success", true},
		{"$(Pay.Result) == too-many-failed-attempts", false},
		{"empty == empty", true}, // "empty" not followed by ( is a word
	}
	for _, tt := range tests {
		e, err := parseExpr(tt.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tt.src, err)
			continue
		}
		got, err := e.Eval(langLookup(vars))
		if err != nil || got != tt.want {
			t.Errorf("%q = %v, %v; want %v", tt.src, got, err, tt.want)
		}
	}
}

func TestExprErrors(t *testing.T) {
	tests := []struct {
		src string
		col int
	}{
		{"", 1},
		{"   ", 1}, // an empty expression reports column 1
		{"$(A) = 1", 6},
		{"$(A) == ", 9},
		{"($(A) == 1", 11},
		{"$(A) == 1)", 10},
		{"$(A) == 1 && $(B)", 11},
		{"$(A) == 1 || $(B)", 11},
		{"1 < 2 < 3", 7},
		{"$(A", 1},
		{"$()", 1},
		{"$(1a) == 1", 1},
		{"'open", 1},
		{"empty($(A)", 11},
		{"== 1", 1},
		{"and", 1},
		{"$(A) == 1 and", 14},
		{"not", 4},
		{"$(A) ! 1", 6},
		{"$(A) == 1 ; x", 11},
	}
	for _, tt := range tests {
		_, err := parseExpr(tt.src)
		var ee *exprError
		if !errors.As(err, &ee) {
			t.Errorf("ParseExpr(%q) = %v, want an *ExprError", tt.src, err)
			continue
		}
		if !errors.Is(err, errExpr) {
			t.Errorf("ParseExpr(%q): error does not wrap ErrExpr", tt.src)
		}
		if ee.Col != tt.col {
			t.Errorf("ParseExpr(%q): column %d (%s), want %d", tt.src, ee.Col, ee.Msg, tt.col)
		}
	}
}

func TestExprDepthLimit(t *testing.T) {
	src := ""
	for range 200 {
		src += "("
	}
	src += "1 == 1"
	for range 200 {
		src += ")"
	}
	if _, err := parseExpr(src); !errors.Is(err, errExpr) {
		t.Fatalf("deep nesting: %v, want ErrExpr", err)
	}
	notChain := ""
	for range 500 {
		notChain += "not "
	}
	if _, err := parseExpr(notChain + "1"); !errors.Is(err, errExpr) {
		t.Fatalf("deep not chain: %v, want ErrExpr", err)
	}
}

func TestExprVars(t *testing.T) {
	e := mustParseExpr("$(A) == $(B) or empty($(A)) and not $(C|D.e)")
	if got, want := e.vars(), []string{"A", "B", "C|D.e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Vars = %v, want %v", got, want)
	}
	refs := e.varRefs()
	if len(refs) != 4 || refs[0].Offset != 0 || refs[1].Offset != 8 || refs[3].Name != "C|D.e" {
		t.Errorf("VarRefs = %+v", refs)
	}
	if e.String() != "$(A) == $(B) or empty($(A)) and not $(C|D.e)" {
		t.Errorf("String = %q", e.String())
	}
}

func TestExprNil(t *testing.T) {
	var e *Expr
	if _, err := e.Eval(langLookup(nil)); !errors.Is(err, errExpr) {
		t.Fatalf("nil Eval: %v", err)
	}
}

// TestCmpDecimal checks the allocation-free comparison against math/big on a grid of values.
func TestCmpDecimal(t *testing.T) {
	vals := []string{"0", "-0", "+0", "0.0", "00.000", "1", "01", "1.0", "1.5", "1.50", "1.05", "-1", "-1.5",
		"-0.5", "0.5", "10", "9.99", "100", "-100", "99999999999999999999", "-99999999999999999999.1", "0.0001", "+2"}
	for _, a := range vals {
		for _, b := range vals {
			ra, _ := parseDecimalRat(a)
			rb, _ := parseDecimalRat(b)
			if got, want := cmpDecimal(a, b), ra.Cmp(rb); got != want {
				t.Errorf("cmpDecimal(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
}
