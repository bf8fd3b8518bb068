#!/usr/bin/env bash
# Load test with wrk: GET /api/notes with a valid token through the whole
# example app, on SQLite with memory stores and on PostgreSQL with Redis,
# next to a bare net/http handler and the stage stacks of bench/ measured in
# the same run. Everything listens on 127.0.0.1 and every run is bounded.
#
#   examples/fullstack/load.sh            # 10 s per run
#   DURATION=30s CONNECTIONS=64 ROUNDS=5 examples/fullstack/load.sh
#
# The stacks are measured in ROUNDS rounds (default 3), each running every
# stack once in turn, and the shares of the bare handler are the medians of
# the rounds' shares: on a shared machine, a busy moment then moves one
# round rather than one stack.
#
# Needs wrk (apt-get install wrk); the PostgreSQL+Redis run needs both
# servers on their standard local ports and is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PG_DSN=${COVET_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
REDIS=${COVET_TEST_REDIS_ADDR:-127.0.0.1:6379}
command -v wrk >/dev/null || { echo "load.sh needs wrk: apt-get install wrk" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/fullstack" ./examples/fullstack
(cd bench && go build -o "$work/stackserver" ./cmd/stackserver)

wait_ready() { # url: until it answers 200
	for _ in $(seq 1 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
		sleep 0.1
	done
	echo "not ready: $1" >&2
	return 1
}

wait_listening() { # url: until it answers at all
	for _ in $(seq 1 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ] && return 0
		sleep 0.1
	done
	echo "not listening: $1" >&2
	return 1
}

# report NAME URL TOKEN: one wrk run, one summary line.
report() {
	local out
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $3" -H "Origin: https://app.example.com" "$2")
	local rps p50 p90 p99 non2xx
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p90=$(awk '$1=="90%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
	printf '%-34s %10s req/s   p50 %-9s p90 %-9s p99 %-9s non-2xx %s\n' "$1" "$rps" "$p50" "$p90" "$p99" "${non2xx:-0}"
	echo "$rps" >"$work/last-rps"
}

stacks=(bare covet covet-uncached covet-slog covet-nolog peers)
declare -A stack_name=(
	[bare]="bare net/http handler"
	[covet]="covet stack (token cache)"
	[covet-uncached]="covet stack (no token cache)"
	[covet-slog]="covet stack (access log on slog)"
	[covet-nolog]="covet stack (no access log)"
	[peers]="peer stack"
)

start_stack() { # flag port
	"$work/stackserver" -stack "$1" -addr "127.0.0.1:$2" >"$work/token-$1" 2>/dev/null &
	pids+=($!)
	wait_listening "http://127.0.0.1:$2/"
}

# median FILE: the median of the numbers in FILE, one a line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# app NAME PORT ENV...: the example app with its limits lifted.
app() {
	local name=$1 port=$2
	shift 2
	env COVET_ADDR="127.0.0.1:$port" COVET_ENV=staging COVET_SECRET_KEY=load-test-secret-key-0123456789abcdef \
		COVET_RATE_GLOBAL=50000000 COVET_RATE_AUTH=50000000 COVET_RATE_API=50000000 "$@" \
		"$work/fullstack" >"$work/app-$port.log" 2>&1 &
	pids+=($!)
	wait_ready "http://127.0.0.1:$port/readyz" || { cat "$work/app-$port.log" >&2; return 1; }
	local base="http://127.0.0.1:$port"
	curl -fsS -o /dev/null -H 'Content-Type: application/json' \
		-d '{"email":"load@example.com","name":"Load","password":"load test password"}' "$base/auth/register" || true
	local token
	token=$(curl -fsS -H 'Content-Type: application/json' \
		-d '{"email":"load@example.com","password":"load test password"}' "$base/auth/login" |
		sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	for i in $(seq 1 5); do
		curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
			-d "{\"title\":\"note $i\",\"body\":\"<p>load</p>\"}" "$base/api/notes"
	done
	report "$name" "$base/api/notes" "$token"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores, $(date -u +%F)"
echo
echo "Stage stacks around a trivial handler (bench/stacks.go), $ROUNDS rounds:"
port=18081
declare -A stack_port
for s in "${stacks[@]}"; do
	stack_port[$s]=$port
	start_stack "$s" "$port"
	port=$((port + 1))
done
# A short unreported run of each first: a server's first seconds under load
# (heap growth, first connections) are slower than the rest.
for s in "${stacks[@]}"; do
	wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $(head -1 "$work/token-$s")" \
		-H "Origin: https://app.example.com" "http://127.0.0.1:${stack_port[$s]}/api/notes" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
	for s in "${stacks[@]}"; do
		report "${stack_name[$s]}" "http://127.0.0.1:${stack_port[$s]}/api/notes" "$(head -1 "$work/token-$s")"
		cp "$work/last-rps" "$work/round-$s"
	done
	for s in "${stacks[@]:1}"; do
		awk -v b="$(cat "$work/round-bare")" -v x="$(cat "$work/round-$s")" 'BEGIN { printf "%.1f\n", 100 * x / b }' >>"$work/share-$s"
	done
	echo
done
for s in "${stacks[@]:1}"; do
	printf '%-34s keeps %5s%% of the bare handler (median; rounds: %s)\n' \
		"${stack_name[$s]}" "$(median "$work/share-$s")" "$(paste -sd' ' "$work/share-$s")"
done

echo
echo "The example app, GET /api/notes (5 notes) with a bearer token:"
app "fullstack on SQLite, memory stores" 18090 COVET_DB_DSN="$work/load.db"
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" ping >/dev/null 2>&1; then
	db=covet_load_$$
	psql "$PG_DSN" -qc "CREATE DATABASE $db" >/dev/null
	trap 'cleanup; psql "$PG_DSN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
	app "fullstack on PostgreSQL + Redis" 18091 COVET_DB_DSN="${PG_DSN/\/test\?/\/$db?}" COVET_REDIS_ADDR="$REDIS" COVET_REDIS_PREFIX="covet:load:$$:"
else
	echo "(PostgreSQL or Redis not running: skipped the PostgreSQL + Redis run)"
fi
