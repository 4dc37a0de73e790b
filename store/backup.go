package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Backup writes a consistent, compacted copy of the live database to dest (VACUUM INTO), while
// calls keep being written. dest must not exist. The copy is a complete database (no -wal) and
// opens with Open like the original. A PostgreSQL store is backed up with PostgreSQL's own
// tools (pg_dump, base backups and WAL archiving): Backup refuses with ErrUnsupported.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.d == postgresDialect {
		return fmt.Errorf("%w: back up a PostgreSQL database with pg_dump or pg_basebackup", ErrUnsupported)
	}
	if dest == "" {
		return fmt.Errorf("%w: empty backup path", ErrInvalid)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("%w: backup %s already exists", ErrDuplicate, dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return os.Chmod(dest, 0o600)
}
