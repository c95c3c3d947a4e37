#!/usr/bin/env bash
# Counts the disk syncs (fdatasync/fsync) `opsgate shell` makes for N piped
# `whoami` messages, with strace. Issue 18 measured 1,019 for 200 before the
# commit-per-request change.
#
#   bench/fsync_count.sh [N] [OPSGATE_BINARY]
set -euo pipefail
N=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
OPSGATE=${2:-$root/build/release/src/opsgate}
command -v strace >/dev/null || { echo "strace not found: apt-get install strace" >&2; exit 1; }
work=$(mktemp -d /tmp/opsgate-fsync-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "whoami" }' > input.txt
strace -f -c -e trace=fdatasync,fsync -o strace.txt "$OPSGATE" shell < input.txt > out.txt 2> err.txt
replies=$(grep -c "You are" out.txt || true)
syncs=$(awk '$NF == "fdatasync" || $NF == "fsync" { n += $4 } END { print n + 0 }' strace.txt)
echo "$N whoami, $replies replies: $syncs fdatasync/fsync calls ($(echo "scale=2; $syncs / $N" | bc) per message)"
