#!/usr/bin/env bash
# Commit only the given paths, retrying while another committer holds the index lock.
# Several developers share one work tree: never `git add -A` at the top, commit your own paths.
#   scripts/commit.sh "message" path [path...]
set -euo pipefail
msg=$1; shift
[ $# -gt 0 ] || { echo "usage: $0 MESSAGE PATH..." >&2; exit 2; }
cd "$(git rev-parse --show-toplevel)"
for try in $(seq 1 60); do
  if git add -A -- "$@" 2>/tmp/commit.$$ && git commit -q -m "$msg" -- "$@" 2>>/tmp/commit.$$; then
    rm -f /tmp/commit.$$; git log --oneline -1; exit 0
  fi
  if grep -q "index.lock" /tmp/commit.$$; then sleep 1; continue; fi
  if grep -qi "nothing to commit\|no changes added" /tmp/commit.$$; then echo "nothing to commit"; rm -f /tmp/commit.$$; exit 0; fi
  cat /tmp/commit.$$ >&2; rm -f /tmp/commit.$$; exit 1
done
echo "index stayed locked for a minute" >&2; exit 1
