#!/usr/bin/env bash
# run.sh - `make bench`: conform's workloads measured against reference tools
# in the same invocation, all on 127.0.0.1, about two minutes in all:
#   1. HTTP:  wrk against conform-workload http-server vs nginx (or python's
#      http.server when nginx is missing) serving a static body
#   2. gRPC:  h2load with gRPC-framed Unary calls against grpc-server vs the
#      same POSTs to nginx over h2c
#   3. our clients' open-loop rate at 1000/s and 5000/s (achieved/target,
#      p99, client overloads) through a collector sink
#   4. resident memory of conformd and each workload of an idle run
#   5. the HAProxy sidecar path (outbound + mTLS inbound) vs direct
#   6. a synthetic BENCH_HISTORY_DAYS-day store (test/tools/history7d): size per
#      check-day, report build and render times
# Ends with a table of figures and ratios. BENCH_SECONDS (default 10) sets
# each load phase. Ports are probed free, never fixed.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
BUILD=${BUILD:-build}
BIN="$ROOT/$BUILD/bin"
SECS=${BENCH_SECONDS:-10}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NGINX=${NGINX:-/usr/sbin/nginx}
TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export CONFORM_TOKEN=$TOKEN

W=$(mktemp -d "${TMPDIR:-/tmp}/conform-bench.XXXXXX")
pids=()
summary=()   # "label|value|note" of the figures repeated at the end

die() { echo "bench: $*" >&2; exit 1; }

cleanup() {
	local p alive
	if [ -L "$W/state/current" ]; then
		timeout 30 "$BIN/conform" stop --state-dir "$W/state" >/dev/null 2>&1
	fi
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

# start NAME CMD... : background process, output to $W/NAME.log; sets $last_pid
start() {
	local name=$1; shift
	"$@" >"$W/$name.log" 2>&1 &
	last_pid=$!
	pids+=("$last_pid")
}

stop_pid() { # PID: TERM, wait up to 10 s, then KILL
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

free_port() { # a TCP port free on 127.0.0.1 right now
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_file() { # FILE SECONDS
	for _ in $(seq $(($2 * 20))); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

wait_port() { # HOST PORT SECONDS
	for _ in $(seq $(($3 * 20))); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

ready_field() { # READY_FILE KEY
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }

ratio() { python3 -c 'import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print("%.2f" % (a/b) if b else "n/a")' "$1" "$2"; }

row() { printf '  %-44s %s %s\n' "$1" "$2" "${3:-}"; }
srow() { summary+=("$1|$2|${3:-}"); row "$@"; }   # a row that goes into the summary too

# wrk_run NAME URL [wrk args...]: sets wrk_rps and wrk_p99
wrk_run() {
	local name=$1 url=$2; shift 2
	timeout $((SECS + 20)) wrk -t2 -c50 -d"${SECS}s" --latency "$@" "$url" >"$W/wrk-$name.out" 2>&1
	wrk_rps=$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$W/wrk-$name.out")
	wrk_p99=$(awk '$1 == "99%" { print $2 }' "$W/wrk-$name.out")
	local errs
	errs=$(sed -n 's/^  Non-2xx or 3xx responses: *//p' "$W/wrk-$name.out")
	wrk_note="p99 ${wrk_p99:-?}"
	[ -n "$errs" ] && wrk_note="$wrk_note, non-2xx $errs"
	grep -q 'Socket errors' "$W/wrk-$name.out" &&
		wrk_note="$wrk_note, $(grep 'Socket errors' "$W/wrk-$name.out" | sed 's/^ *//')"
	[ -n "$wrk_rps" ] || { cat "$W/wrk-$name.out" >&2; wrk_rps=0; }
}

# h2load_run NAME URL N: sets h2_rps and h2_note
h2load_run() {
	timeout $((SECS + 30)) h2load -d "$W/echo.grpc" -H 'content-type: application/grpc' \
		-H 'te: trailers' -m 32 -c 4 -t 2 -n "$3" "$2" >"$W/h2load-$1.out" 2>&1
	h2_rps=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' "$W/h2load-$1.out")
	h2_note=$(sed -n 's/^requests: .* \([0-9]* succeeded\), \([0-9]* failed\).*/\1, \2/p' \
		"$W/h2load-$1.out")
	[ -n "$h2_rps" ] || { tail -n 5 "$W/h2load-$1.out" >&2; h2_rps=0; }
}

for t in wrk h2load python3; do command -v $t >/dev/null || die "$t not installed"; done
for b in conform conformd conform-workload; do [ -x "$BIN/$b" ] || die "missing $BIN/$b (make)"; done
echo "conform bench: ${SECS}s per load phase, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the collector sink for our clients (lib/collector, percentiles on exit) ----
# shellcheck disable=SC1090
. <(sed -n 's/^\(PKG_[A-Z]*\) := \(.*\)/\1="\2"/p' "$BUILD/config.mk")
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Ilib -I"$BUILD/gen" ${PKG_CFLAGS:-} -o "$W/benchsink" \
	test/bench/benchsink.c "$BUILD/libconform.a" ${PKG_LIBS:-} -lpthread -lm ||
	die "cannot build test/bench/benchsink.c"
start sink "$W/benchsink" "$W/sink.port"
SINK_PID=$last_pid
wait_file "$W/sink.port" 10 || die "sink did not start"
SINK_PORT=$(cat "$W/sink.port")

# ---- our servers ----
start http-server "$BIN/conform-workload" --role http-server --name http-server \
	--listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$W/http-server.ready"
HS_PID=$last_pid
start grpc-server "$BIN/conform-workload" --role grpc-server --name grpc-server \
	--listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$W/grpc-server.ready"
GS_PID=$last_pid
wait_file "$W/http-server.ready" 10 || die "http-server not ready"
wait_file "$W/grpc-server.ready" 10 || die "grpc-server not ready"
HS_ADDR=$(ready_field "$W/http-server.ready" listen)
GS_ADDR=$(ready_field "$W/grpc-server.ready" listen)
curl -sf --max-time 5 "http://$HS_ADDR/echo" >/dev/null || die "http-server does not answer /echo"

# ---- reference server: nginx (static body, h1 and h2c), else python ----
REF_PORT=$(free_port)
REF_H2_PORT=$(free_port)
if [ -x "$NGINX" ]; then
	REF=nginx
	mkdir -p "$W/nginx/tmp"
	cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $W/nginx/tmp/body;
	proxy_temp_path $W/nginx/tmp/proxy;
	fastcgi_temp_path $W/nginx/tmp/fastcgi;
	uwsgi_temp_path $W/nginx/tmp/uwsgi;
	scgi_temp_path $W/nginx/tmp/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$REF_PORT;
		listen 127.0.0.1:$REF_H2_PORT http2;
		location / {
			default_type application/json;
			return 200 '{"server":"nginx","version":"v1","request_id":"","attempt":1,"identity":""}\n';
		}
	}
}
EOF
	start nginx "$NGINX" -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf"
else
	REF=python-http.server
	mkdir -p "$W/www"
	echo '{"server":"python"}' >"$W/www/echo"
	start pyhttp python3 -m http.server -b 127.0.0.1 -d "$W/www" "$REF_PORT"
fi
wait_port 127.0.0.1 "$REF_PORT" 10 || die "$REF did not start (see $W/*.log)"

# ---- 4a. idle memory of the servers, before any load ----
echo "== idle memory"
row "rss http-server (idle)" "$(rss_kb "$HS_PID") kB"
row "rss grpc-server (idle)" "$(rss_kb "$GS_PID") kB"

# ---- 1. HTTP ----
echo "== HTTP: wrk -t2 -c50 -d${SECS}s"
wrk_run ours "http://$HS_ADDR/echo"
OURS_HTTP=$wrk_rps
srow "http-server req/s" "$wrk_rps" "($wrk_note)"
row "rss http-server (after wrk)" "$(rss_kb "$HS_PID") kB"
wrk_run ref "http://127.0.0.1:$REF_PORT/echo"
REF_HTTP=$wrk_rps
srow "$REF req/s" "$wrk_rps" "($wrk_note)"
srow "http-server/$REF" "$(ratio "$OURS_HTTP" "$REF_HTTP")"

# ---- 2. gRPC ----
echo "== gRPC: h2load -m 32 -c 4, gRPC-framed conform.v1.Echo/Unary"
python3 - "$W/echo.grpc" <<'EOF'
import struct, sys
def field(num, s):
    b = s.encode()
    return bytes([num << 3 | 2, len(b)]) + b
msg = field(1, "bench-1") + field(2, "grpc.basic")   # EchoRequest{request_id, check}
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(msg)) + msg)
EOF
N=$((SECS * 5000))
h2load_run ours "http://$GS_ADDR/conform.v1.Echo/Unary" "$N"
OURS_GRPC=$h2_rps
srow "grpc-server Unary calls/s" "$h2_rps" "($h2_note)"
# one call's grpc-status must be 0, or the figure above counts errors
st=$(curl -s --http2-prior-knowledge --max-time 5 -H 'content-type: application/grpc' \
	-H 'te: trailers' --data-binary @"$W/echo.grpc" -D - -o /dev/null \
	"http://$GS_ADDR/conform.v1.Echo/Unary" | tr -d '\r' | sed -n 's/^grpc-status: //p')
[ "$st" = 0 ] || srow "WARNING grpc-status of a bench call" "${st:-none}"
row "rss grpc-server (after h2load)" "$(rss_kb "$GS_PID") kB"
if [ "$REF" = nginx ]; then
	wait_port 127.0.0.1 "$REF_H2_PORT" 5
	h2load_run ref "http://127.0.0.1:$REF_H2_PORT/conform.v1.Echo/Unary" "$N"
	REF_GRPC=$h2_rps
	srow "nginx h2c POST/s (same frames)" "$h2_rps" "($h2_note)"
	srow "grpc-server/nginx-h2c" "$(ratio "$OURS_GRPC" "$REF_GRPC")"
fi

# ---- 3. our clients, open loop ----
echo "== clients: open-loop rate for ${SECS}s (achieved = sent / elapsed)"
declare -A elapsed
client_run() { # ROLE RATE FLOW
	local role=$1 rate=$2 flow=$3 name="$1-$2" t0 t1 pid
	start "$name" "$BIN/conform-workload" --role "$role" --name "$name" \
		--collector "127.0.0.1:$SINK_PORT" --ready-file "$W/$name.ready" \
		--flow "$flow,rate=$rate"
	pid=$last_pid
	wait_file "$W/$name.ready" 10 || die "$name not ready"
	t0=$(date +%s.%N)
	sleep "$SECS"   # the measured interval itself, not synchronisation
	row "rss $name (under load)" "$(rss_kb "$pid") kB"
	t1=$(date +%s.%N)
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	[ $rc -eq 0 ] || srow "WARNING $name exit status" "$rc"
	elapsed[$name]=$(python3 -c "print(float('$t1') - float('$t0'))")
}
for rate in 1000 5000; do
	client_run http-client $rate "check=http.basic,url=http://$HS_ADDR/echo"
	client_run grpc-client $rate "check=grpc.basic,target=$GS_ADDR,method=unary"
done
stop_pid "$SINK_PID"
for rate in 1000 5000; do
	for role in http-client grpc-client; do
		name="$role-$rate"
		line=$(grep "^benchsink workload=$name " "$W/sink.log" | head -n 1)
		tot=$(sed -n 's/.* msg="\{0,1\}totals"\{0,1\} check=[^ ]* \(requests=[0-9]*\).*/\1/p' \
			"$W/$name.log" | head -n 1)
		read -r req ovl p99 < <(python3 - "$line" <<'EOF'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split()[1:] if "=" in p)
print(kv.get("requests", 0), kv.get("overload", 0), kv.get("p99_us", "?"))
EOF
)
		sent=$((req - ovl))
		ach=$(python3 -c "print('%.0f' % ($sent / ${elapsed[$name]}))")
		srow "$name achieved/target" "$(ratio "$ach" "$rate")" \
			"($ach/s; p99 ${p99} us; overload $ovl of $req)"
		# the client's own totals line must agree with what the collector got
		[ "$tot" = "requests=$req" ] ||
			srow "WARNING $name totals" "client logged '${tot:-nothing}', sink got requests=$req"
	done
done

# ---- 4b. an idle run: conformd and every workload ----
echo "== idle run: conform start --duration 0 --mesh none --checks http.basic,grpc.basic,grpc.stream"
if timeout 60 "$BIN/conform" start --duration 0 --mesh none --checks http.basic,grpc.basic,grpc.stream --state-dir "$W/state" \
	>"$W/start.log" 2>&1; then
	RUN=$(readlink -f "$W/state/current")
	sleep 5   # what we measure is memory after 5 s of running
	srow "rss conformd (idle run)" "$(rss_kb "$(cat "$RUN/conformd.pid")") kB"
	for f in "$RUN"/wl/*.ready; do
		[ -f "$f" ] || continue
		srow "rss $(ready_field "$f" name) (idle run, 10 req/s)" "$(rss_kb "$(ready_field "$f" pid)") kB"
	done
	timeout 60 "$BIN/conform" stop --state-dir "$W/state" >"$W/stop.log" 2>&1 ||
		srow "WARNING conform stop" "failed (see $W/stop.log)"
else
	srow "WARNING conform start" "failed: $(tail -n 1 "$W/start.log")"
fi

# ---- 5. sidecar path: wrk through outbound + mTLS inbound HAProxy ----
MESHTOOL="$ROOT/$BUILD/test/tools/meshtool"
[ -x "$MESHTOOL" ] || make -s BUILD="$BUILD" "$BUILD/test/tools/meshtool" >/dev/null 2>&1
if [ -x "$HAPROXY" ] && [ -x "$MESHTOOL" ]; then
	echo "== sidecar path: wrk -> outbound HAProxy -> mTLS -> inbound HAProxy -> http-server"
	TAP_PORT=$(free_port)   # tap lines go to a UDP port nobody reads: sidecars still format and send them
	if "$MESHTOOL" gen --dir "$W/mesh" --tap "127.0.0.1:$TAP_PORT" >"$W/mesh.env" 2>"$W/mesh.err"; then
		# shellcheck disable=SC1091
		. "$W/mesh.env"
		start mesh-app "$BIN/conform-workload" --role http-server --name http-server-v1 \
			--listen "$V1_IP:$APP_PORT" --admin 127.0.0.1:0 --ready-file "$W/mesh-app.ready"
		start mesh-in "$HAPROXY" -db -f "$W/mesh/in-http-server-v1.cfg"
		start mesh-out "$HAPROXY" -db -f "$W/mesh/out-http-client.cfg"
		if wait_file "$W/mesh-app.ready" 10 && wait_port "$V1_IP" "$IN_PORT" 10 &&
			wait_port "$CLIENT_IP" "$OUT_PORT" 10 &&
			curl -sf --max-time 5 -H 'Host: echo.conform' "http://$CLIENT_IP:$OUT_PORT/echo" \
				>/dev/null; then
			wrk_run mesh "http://$CLIENT_IP:$OUT_PORT/echo" -H 'Host: echo.conform'
			srow "http-server via sidecars req/s" "$wrk_rps" "($wrk_note)"
			srow "sidecar path/direct" "$(ratio "$wrk_rps" "$OURS_HTTP")"
		else
			srow "WARNING sidecar path" "did not come up (see $W/mesh-*.log)"
		fi
	else
		srow "WARNING sidecar path" "meshtool gen failed: $(tail -n 1 "$W/mesh.err")"
	fi
else
	srow "sidecar path" "skipped (haproxy or meshtool missing)"
fi

# ---- 6. a long run's history: a synthetic store of BENCH_HISTORY_DAYS (default 1) ----
H7="$ROOT/$BUILD/test/tools/history7d"
[ -x "$H7" ] || make -s BUILD="$BUILD" "$BUILD/test/tools/history7d" >/dev/null 2>&1
HDAYS=${BENCH_HISTORY_DAYS:-1}
if [ -x "$H7" ]; then
	echo "== history: ${HDAYS}-day synthetic store, 3 checks at 10 req/s (test/tools/history7d)"
	if timeout 120 "$H7" --days "$HDAYS" >"$W/history.out" 2>&1; then
		sed 's/^/  /' "$W/history.out"
		hv() { sed -n "s/^history7d .* $1=\([^ ]*\).*/\1/p" "$W/history.out"; }
		srow "history ${HDAYS}d: database bytes per check-day" "$(hv bytes_per_check_day)"
		srow "history ${HDAYS}d: report_build" "$(sed -n 's/^report_build: *//p' "$W/history.out")"
		srow "history ${HDAYS}d: render html" "$(sed -n 's/^render html *//p' "$W/history.out")"
	else
		srow "WARNING history7d" "failed: $(tail -n 1 "$W/history.out")"
	fi
else
	srow "history" "skipped (history7d missing)"
fi

# ---- summary ----
echo
echo "== summary (higher is better for rates and ratios)"
for r in "${summary[@]}"; do
	IFS='|' read -r k v n <<<"$r"
	row "$k" "$v" "$n"
done
