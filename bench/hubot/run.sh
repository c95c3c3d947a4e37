#!/usr/bin/env bash
# Pipes the same N `whoami` messages through Hubot 14 (a `whoami` script,
# nothing on disk) and through `opsgate shell` (demo config, durable
# hash-chained audit log in a fresh temp folder), and prints their times,
# messages per second, peak RSS and the ratios.
#
# Hubot runs twice, with two stdin adapters (its own Shell adapter needs a
# terminal):
#   shell-adapter.mjs  does what Hubot's Shell adapter does: every line read
#                      goes to robot.receive at once, every reply is one
#                      console.log. The issue's reference (Hubot 14.1,
#                      ~30,000 msg/s, 191 MB) is this one.
#   stdin-adapter.mjs  tuned: one message at a time (each sees the ones before
#                      it, as opsgate's do), replies written 256 per write.
#                      Faster and lighter than Hubot runs as shipped: the
#                      stricter comparison.
#
#   bench/hubot/run.sh [N] [OPSGATE_BINARY]
#
# Needs node and npm (Hubot 14 is installed from the npm registry into a
# temporary folder, removed at the end) and GNU time (/usr/bin/time).
set -euo pipefail
N=${1:-20000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OPSGATE=${2:-$root/build/release/src/opsgate}
[ -x "$OPSGATE" ] || { echo "no opsgate binary at $OPSGATE: build first (see bench/README.md) or pass its path" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm not found: install nodejs (Hubot 14 needs Node 18+)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 1; }

work=$(mktemp -d /tmp/opsgate-hubot-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "installing hubot@14 into $work (npm)..." >&2
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent hubot@14 >/dev/null)
cp "$here/stdin-adapter.mjs" "$here/shell-adapter.mjs" "$work/"
mkdir -p "$work/scripts" && cp "$here/scripts/whoami.mjs" "$work/scripts/"

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "whoami" }' > "$work/input.txt"

# measure NAME COMMAND...: wall seconds, peak RSS (KiB) and CPU seconds (user
# + system, all threads: less sensitive than wall time to a loaded machine);
# checks N replies.
measure() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M %U %S" -o "$work/$name.rss" "$@" < "$work/input.txt" > "$work/$name.out" 2> "$work/$name.err"
  end=$(date +%s.%N)
  local replies
  replies=$(grep -c "You are" "$work/$name.out" || true)
  if [ "$replies" -ne "$N" ]; then
    echo "$name answered $replies of $N messages; its stderr:" >&2
    tail -5 "$work/$name.err" >&2
    exit 1
  fi
  local kb user sys
  read -r kb user sys < <(tail -1 "$work/$name.rss")
  echo "$(echo "$end - $start" | bc) $kb $(echo "$user + $sys" | bc)"
}

cd "$work"
read -r shell_s shell_kb shell_cpu < <(measure hubot-shell node_modules/.bin/hubot --file ./shell-adapter.mjs --disable-httpd true --name hubot)
read -r tuned_s tuned_kb tuned_cpu < <(measure hubot-tuned node_modules/.bin/hubot --file ./stdin-adapter.mjs --disable-httpd true --name hubot)
# The embedded demo config: its audit log is var/opsgate.db under the working folder.
read -r opsgate_s opsgate_kb opsgate_cpu < <(cd "$work" && measure opsgate "$OPSGATE" shell)
events=$(sqlite3 "$work/var/opsgate.db" "SELECT count(*) FROM audit_events" 2>/dev/null || echo "?")

line() {  # NAME SECONDS KB CPU NOTE
  printf "%-28s %6.2f s  %8.0f msg/s  CPU %5.2f s  peak RSS %6.1f MB  %s\n" "$1" "$2" "$(echo "$N / $2" | bc -l)" "$4" "$(echo "$3 / 1024" | bc -l)" "$5"
}
ratio() {  # NAME SECONDS KB CPU
  printf "opsgate vs %-21s rate %.2f×  CPU %.2f×  peak RSS %.3f×\n" "$1" "$(echo "$2 / $opsgate_s" | bc -l)" "$(echo "$opsgate_cpu / $4" | bc -l)" "$(echo "$opsgate_kb / $3" | bc -l)"
}
echo "messages: $N whoami, one reply each; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
line "hubot 14, Shell adapter's way" "$shell_s" "$shell_kb" "$shell_cpu" "(nothing on disk)"
line "hubot 14, tuned adapter" "$tuned_s" "$tuned_kb" "$tuned_cpu" "(nothing on disk)"
line "opsgate shell" "$opsgate_s" "$opsgate_kb" "$opsgate_cpu" "($events audit events, durable, hash-chained)"
ratio "hubot (Shell's way):" "$shell_s" "$shell_kb" "$shell_cpu"
ratio "hubot (tuned):" "$tuned_s" "$tuned_kb" "$tuned_cpu"
