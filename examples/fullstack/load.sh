#!/usr/bin/env bash
# Load test with wrk: GET /api/notes with a valid token through the whole
# example app, on SQLite with memory stores and on PostgreSQL with Redis,
# next to a bare net/http handler and the stage stacks of bench/ measured in
# the same run. Everything listens on 127.0.0.1 and every run is bounded.
#
#   examples/fullstack/load.sh            # 10 s per run
#   DURATION=30s CONNECTIONS=64 examples/fullstack/load.sh
#
# Needs wrk (apt-get install wrk); the PostgreSQL+Redis run needs both
# servers on their standard local ports and is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
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
	echo "$rps" >"$work/rps-$(tr ' /+' '___' <<<"$1")"
}

stack() { # name flag port
	"$work/stackserver" -stack "$2" -addr "127.0.0.1:$3" >"$work/token-$2" 2>/dev/null &
	pids+=($!)
	wait_listening "http://127.0.0.1:$3/"
	report "$1" "http://127.0.0.1:$3/api/notes" "$(head -1 "$work/token-$2")"
}

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
echo "Stage stacks around a trivial handler (bench/stacks.go):"
stack "bare net/http handler" bare 18081
stack "covet stack (token cache)" covet 18082
stack "covet stack (no token cache)" covet-uncached 18083
stack "covet stack (no access log)" covet-nolog 18085
stack "peer stack" peers 18084
bare=$(cat "$work/rps-bare_net_http_handler")
awk -v b="$bare" -v c="$(cat "$work"/rps-covet_stack_\(token_cache\))" -v p="$(cat "$work/rps-peer_stack")" \
	'BEGIN { printf "covet keeps %.0f%% of the bare handler, the peer stack %.0f%%\n", 100*c/b, 100*p/b }'

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
