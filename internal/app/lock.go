package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockFile is DATA/paybridge.lock: one serve per data directory. Two nodes on one SQLite file
// would each think they own the calls, the reconciliation and the retention; the second is
// refused with a clear message instead.
const lockFile = "paybridge.lock"

// dataLock is the held lock; Close releases it (the kernel releases it too if the process dies,
// so a crash never leaves a stale lock behind).
type dataLock struct{ f *os.File }

// lockDataDir takes the data directory's lock or says who holds it.
func lockDataDir(dir string) (*dataLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("data directory %s is in use by another paybridge (%s): stop it, or give this one its own --data directory", dir, who)
		}
		return nil, fmt.Errorf("locking data directory %s: %w", dir, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+", started "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0)
	return &dataLock{f: f}, nil
}

// Close releases the lock.
func (l *dataLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
