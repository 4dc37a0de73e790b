package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/paybridge/paybridge/store"
)

func init() {
	register(&command{
		name:    "migrate",
		usage:   "migrate --db URL|FILE [--status] [--from-sqlite FILE]",
		summary: "bring a database's schema up to this paybridge (refusing a newer one), or move a SQLite database into PostgreSQL",
		run:     runMigrate,
	})
}

// runMigrate applies the embedded migrations to the database --db names (a PostgreSQL URL or a
// SQLite file) and says what it did. A database migrated by a newer paybridge is refused and
// left alone. With --from-sqlite it then copies a single node's SQLite database into it, which
// must be empty (see store.Copy): the way from one node to a cluster.
func runMigrate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	db := fs.String("db", env.getenv("PAYBRIDGE_DB"), "the database: a PostgreSQL URL (postgres://…) or a SQLite file (default: $PAYBRIDGE_DB)")
	status := fs.Bool("status", false, "only report the schema version and what would be applied")
	from := fs.String("from-sqlite", "", "copy this SQLite database (a node's DATA/paybridge.db) into --db, which must be empty")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "migrate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *db == "" {
		fmt.Fprintln(env.stderr, "migrate: --db is required (a PostgreSQL URL, or the SQLite file DATA/paybridge.db)")
		return 2
	}
	if *from != "" && store.IsPostgresURL(*from) {
		fmt.Fprintln(env.stderr, "migrate: --from-sqlite takes a SQLite file, not a URL")
		return 2
	}
	if *from != "" && !store.IsPostgresURL(*db) {
		if a, b := absPath(*from), absPath(*db); a == b {
			fmt.Fprintln(env.stderr, "migrate: --from-sqlite and --db are the same file")
			return 2
		}
	}
	name := *db
	if store.IsPostgresURL(name) {
		name = store.RedactURL(name)
	}
	want := store.SchemaVersion()
	have, err := store.PeekVersion(ctx, *db)
	if err != nil {
		fmt.Fprintf(env.stderr, "migrate: %v\n", err)
		return 1
	}
	if have > want {
		fmt.Fprintf(env.stderr, "migrate: %s has schema version %d, newer than this paybridge's %d: refusing (run the newer paybridge, or restore a backup taken before the upgrade)\n", name, have, want)
		return 1
	}
	if *status {
		fmt.Fprintf(env.stdout, "%s: schema version %d; this paybridge: %d; %d migration(s) to apply\n", name, have, want, want-have)
		return 0
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		fmt.Fprintf(env.stderr, "migrate: %v\n", err)
		return 1
	}
	defer st.Close()
	now, err := st.Version(ctx)
	if err != nil {
		fmt.Fprintf(env.stderr, "migrate: %v\n", err)
		return 1
	}
	if now == have {
		fmt.Fprintf(env.stdout, "%s: schema version %d, up to date\n", name, now)
	} else {
		fmt.Fprintf(env.stdout, "%s: migrated from schema version %d to %d\n", name, have, now)
	}
	if *from == "" {
		return 0
	}
	src, err := store.Open(ctx, *from)
	if err != nil {
		fmt.Fprintf(env.stderr, "migrate: %v\n", err)
		return 1
	}
	defer src.Close()
	stats, err := store.Copy(ctx, st, src)
	if err != nil {
		fmt.Fprintf(env.stderr, "migrate: copying %s: %v\n", *from, err)
		return 1
	}
	tables := make([]string, 0, len(stats))
	total := 0
	for t, n := range stats {
		tables = append(tables, t)
		total += n
	}
	sort.Strings(tables)
	fmt.Fprintf(env.stdout, "copied %d rows from %s:\n", total, *from)
	for _, t := range tables {
		fmt.Fprintf(env.stdout, "  %-18s %d\n", t, stats[t])
	}
	return 0
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
