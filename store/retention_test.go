package store

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRunRetention(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	old := time.Now().Add(-48 * time.Hour)
	must(t, s.CreateCall(ctx, Call{ID: "old", StartedAt: old}))
	must(t, s.EndCall(ctx, "old", "caller-hangup", old.Add(time.Minute)))
	must(t, s.CreateCall(ctx, Call{ID: "new"}))
	done := make(chan struct{})
	go func() {
		s.RunRetention(ctx, 24*time.Hour, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, err := s.GetCall(ctx, "old"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old call not purged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more ticks purge nothing and audit nothing
	cancel()
	<-done
	if _, _, err := s.GetCall(context.Background(), "new"); err != nil {
		t.Errorf("recent call purged: %v", err)
	}
	es, _ := s.ListAudit(context.Background(), 10)
	if len(es) != 1 || es[0].Action != "store.purge" || es[0].Actor != "retention" || !strings.Contains(es[0].Detail, "1 calls") {
		t.Errorf("audit = %+v", es)
	}
	s.RunRetention(context.Background(), 0, 0, nil) // disabled: returns at once
}

func TestBackup(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	must(t, s.CreateCall(ctx, Call{ID: "c1", Plan: "pay"}))
	dest := path + ".bak"
	must(t, s.Backup(ctx, dest))
	if err := s.Backup(ctx, dest); err == nil {
		t.Error("backup over an existing file accepted")
	}
	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c, _, err := b.GetCall(ctx, "c1"); err != nil || c.Plan != "pay" {
		t.Errorf("backup lacks the call: %v", err)
	}
}
