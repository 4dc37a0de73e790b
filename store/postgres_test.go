package store

import "testing"

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://pb:s3cret@db.example:5432/ledger?sslmode=require": "postgres://pb:xxxxx@db.example:5432/ledger?sslmode=require",
		"postgres:///ledger?host=/run/pg&password=s3cret":             "postgres:///ledger?host=%2Frun%2Fpg&password=xxxxx",
		"postgresql://pb@db/ledger":                                   "postgresql://pb@db/ledger",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if !IsPostgresURL("postgresql://x/y") || IsPostgresURL("data/paybridge.db") || IsPostgresURL("postgres:x") {
		t.Error("IsPostgresURL")
	}
}
