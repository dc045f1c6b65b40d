#!/usr/bin/env bash
# run.sh - `make bench`: conform's parts measured against reference tools in
# the same invocation, all on 127.0.0.1, about three minutes in all:
#   1. idle memory of the servers, before any load
#   2. HTTP:  wrk against conform-workload http-server vs nginx (or python's
#      http.server when nginx is missing) serving a static body
#   3. gRPC:  h2load with gRPC-framed Unary calls against grpc-server vs the
#      same POSTs to nginx over h2c
#   4. our clients' highest open-loop rate (a schedule far above what the
#      server takes, in-flight capped like wrk -c50 / h2load -c4 -m32) against
#      wrk and h2load on the same servers
#   5. our clients at 20,000/s open loop: the share of the schedule missed
#      (not sent, or sent more than 1 ms late: the client's own "schedule"
#      line, workloads/flow.c) and the client's CPU
#   6. conformd's ingest: test/tools/ingestload, 1000 simulated workloads over
#      real gRPC streams against the collector + store with group commit,
#      the server pinned to one core and the load to the other
#   7. resident memory of conformd and each workload of an idle run
#   8. the HAProxy sidecar path (outbound + mTLS inbound) vs direct
#   9. a synthetic BENCH_HISTORY_DAYS-day store (test/tools/history7d, default
#      1 day, 3 checks; 7 days and 11 checks take ~12 minutes here)
# Ends with a summary table, then one machine-readable line per figure:
#   ratio <name> <value>            (ours / the peer measured just before)
#   figure <name> <value> <unit>
# BENCH_SECONDS (default 10) sets each load phase. Ports are probed free.
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
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# a row that goes into the summary too, with the load average when measured
srow() { summary+=("$1|$2|${3:-} [load $(loadavg)]"); row "$@"; }
machine=()   # the machine-readable lines, printed last
mratio() { machine+=("ratio $1 $2"); }             # NAME VALUE
mfigure() { machine+=("figure $1 $2 $3"); }        # NAME VALUE UNIT
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }   # CPU ticks used by PID
HZ=$(getconf CLK_TCK)

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

# ---- 1. idle memory of the servers, before any load ----
echo "== idle memory"
HS_IDLE=$(rss_kb "$HS_PID")
srow "rss http-server (idle)" "$HS_IDLE kB"
mfigure rss-http-server-idle "${HS_IDLE:-n/a}" kB
row "rss grpc-server (idle)" "$(rss_kb "$GS_PID") kB"

# ---- 2. HTTP ----
echo "== HTTP: wrk -t2 -c50 -d${SECS}s"
wrk_run ours "http://$HS_ADDR/echo"
OURS_HTTP=$wrk_rps
srow "http-server req/s" "$wrk_rps" "($wrk_note)"
row "rss http-server (after wrk)" "$(rss_kb "$HS_PID") kB"
wrk_run ref "http://127.0.0.1:$REF_PORT/echo"
REF_HTTP=$wrk_rps
srow "$REF req/s" "$wrk_rps" "($wrk_note)"
srow "http-server/$REF" "$(ratio "$OURS_HTTP" "$REF_HTTP")"
if [ "$REF" = nginx ]; then mratio http-server/nginx "$(ratio "$OURS_HTTP" "$REF_HTTP")"
else mratio http-server/nginx n/a; fi

# ---- 3. gRPC ----
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
	mratio grpc-server/nginx-h2c "$(ratio "$OURS_GRPC" "$REF_GRPC")"
else
	mratio grpc-server/nginx-h2c n/a
fi

# ---- 4/5. our clients, open loop, through a collector sink ----
# client_run ROLE NAME FLOW: runs it for SECS; sets cl_sent, cl_due, cl_missed,
# cl_lag99 (its schedule line), cl_cpu (% of one core) and cl_rate (sent/s)
client_run() {
	local role=$1 name=$2 flow=$3 t0 t1 c0 c1 pid rc line
	start "$name" "$BIN/conform-workload" --role "$role" --name "$name" \
		--collector "127.0.0.1:$SINK_PORT" --ready-file "$W/$name.ready" --flow "$flow"
	pid=$last_pid
	wait_file "$W/$name.ready" 10 || die "$name not ready"
	t0=$(date +%s.%N); c0=$(ticks "$pid")
	sleep "$SECS"   # the measured interval itself, not synchronisation
	t1=$(date +%s.%N); c1=$(ticks "$pid")
	row "rss $name (under load)" "$(rss_kb "$pid") kB"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] || srow "WARNING $name exit status" "$rc"
	line=$(grep 'msg="\{0,1\}schedule' "$W/$name.log" | head -n 1)
	read -r cl_due cl_sent cl_missed cl_lag99 < <(python3 - "$line" <<'PYEOF'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split() if "=" in p)
print(kv.get("due", 0), kv.get("sent", 0), kv.get("missed_pct", "n/a"), kv.get("lag_p99_us", "?"))
PYEOF
)
	cl_cpu=$(python3 -c "print('%.0f' % (100.0 * ($c1 - $c0) / $HZ / ($t1 - $t0)))")
	cl_rate=$(python3 -c "print('%.0f' % ($cl_sent / ($t1 - $t0)))")
}

echo "== clients: highest open-loop rate for ${SECS}s (schedule 100k/s, in-flight like the peer)"
client_run http-client http-client-max "check=http.basic,url=http://$HS_ADDR/echo,rate=100000,inflight=50"
srow "http-client max sent/s" "$cl_rate" "(cpu ${cl_cpu}% of a core; wrk $OURS_HTTP)"
srow "http-client/wrk" "$(ratio "$cl_rate" "$OURS_HTTP")"
mratio http-client/wrk "$(ratio "$cl_rate" "$OURS_HTTP")"
client_run grpc-client grpc-client-max "check=grpc.basic,target=$GS_ADDR,method=unary,rate=100000,inflight=128"
srow "grpc-client max sent/s" "$cl_rate" "(cpu ${cl_cpu}% of a core; h2load $OURS_GRPC)"
srow "grpc-client/h2load" "$(ratio "$cl_rate" "$OURS_GRPC")"
mratio grpc-client/h2load "$(ratio "$cl_rate" "$OURS_GRPC")"

echo "== clients: open loop at 20000/s for ${SECS}s (missed = not sent or sent > 1 ms late)"
client_run http-client http-client-20k "check=http.basic,url=http://$HS_ADDR/echo,rate=20000"
srow "http-client 20k: schedule missed" "${cl_missed}%" \
	"(sent $cl_sent of $cl_due, $cl_rate/s, lag p99 ${cl_lag99} us, cpu ${cl_cpu}% of a core)"
mfigure http-client-20k-schedule-miss "$cl_missed" %
mfigure http-client-20k-cpu "$cl_cpu" %
client_run grpc-client grpc-client-20k "check=grpc.basic,target=$GS_ADDR,method=unary,rate=20000"
srow "grpc-client 20k: schedule missed" "${cl_missed}%" \
	"(sent $cl_sent of $cl_due, $cl_rate/s, lag p99 ${cl_lag99} us, cpu ${cl_cpu}% of a core)"
mfigure grpc-client-20k-schedule-miss "$cl_missed" %
stop_pid "$SINK_PID"
# what each client logged as its totals must be what the collector got
for name in http-client-max grpc-client-max http-client-20k grpc-client-20k; do
	got=$(sed -n "s/^benchsink workload=$name .* \(requests=[0-9]*\).*/\1/p" "$W/sink.log" | head -n 1)
	tot=$(sed -n 's/.* msg="\{0,1\}totals"\{0,1\} check=[^ ]* \(requests=[0-9]*\).*/\1/p' \
		"$W/$name.log" | head -n 1)
	[ -n "$tot" ] && [ "$tot" = "$got" ] ||
		srow "WARNING $name totals" "client logged '${tot:-nothing}', sink got '${got:-nothing}'"
done

# ---- 6. conformd's ingest path: group commit under 1000 simulated workloads ----
IL="$ROOT/$BUILD/test/tools/ingestload"
if [ -x "$IL" ] && [ "$(nproc)" -ge 2 ]; then
	echo "== ingest: 1000 workloads over gRPC streams -> collector + store (group commit), ${SECS}s"
	start ingest-serve taskset -c 0 "$IL" serve --db "$W/ingest.db" --port-file "$W/ingest.port"
	IS_PID=$last_pid
	if wait_file "$W/ingest.port" 10; then
		taskset -c 1 "$IL" load --target "127.0.0.1:$(cat "$W/ingest.port")" --workloads 1000 \
			--channels 64 --seconds "$SECS" >"$W/ingest-load.out" 2>"$W/ingest-load.err"
		ilrc=$?
		stop_pid "$IS_PID"
		sed 's/^/  /' "$W/ingest-load.out"
		il() { sed -n "s/^ingestload .* $1=\([^ ]*\).*/\1/p" "$W/ingest-load.out"; }
		stored=$(sed -n 's/^ingestserve stored=\([0-9]*\).*/\1/p' "$W/ingest-serve.log")
		srow "ingest acked batches/s" "$(il batches_per_s)" \
			"(commit p50 $(il commit_p50_us) us, p99 $(il commit_p99_us) us; 1000 streams)"
		mfigure ingest-batches "$(il batches_per_s)" per-s
		# an ack only after its commit: the store holds at least every acked batch
		if [ $ilrc -ne 0 ] || [ -z "$stored" ] || [ "$stored" -lt "$(il acked)" ]; then
			srow "WARNING ingest" "load exit $ilrc, acked $(il acked), stored ${stored:-?}"
		fi
	else
		srow "WARNING ingest" "the collector did not start (see $W/ingest-serve.log)"
		mfigure ingest-batches n/a per-s
	fi
else
	srow "ingest" "skipped (ingestload missing or one CPU)"
	mfigure ingest-batches n/a per-s
fi

# ---- 7. an idle run: conformd and every workload ----
echo "== idle run: conform start --duration 0 --mesh none --checks http.basic,grpc.basic,grpc.stream"
if timeout 60 "$BIN/conform" start --duration 0 --mesh none --checks http.basic,grpc.basic,grpc.stream --state-dir "$W/state" \
	>"$W/start.log" 2>&1; then
	RUN=$(readlink -f "$W/state/current")
	sleep 5   # what we measure is memory after 5 s of running
	CD_IDLE=$(rss_kb "$(cat "$RUN/conformd.pid")")
	srow "rss conformd (idle run)" "$CD_IDLE kB"
	mfigure rss-conformd-idle "${CD_IDLE:-n/a}" kB
	for f in "$RUN"/wl/*.ready; do
		[ -f "$f" ] || continue
		srow "rss $(ready_field "$f" name) (idle run, 10 req/s)" "$(rss_kb "$(ready_field "$f" pid)") kB"
	done
	timeout 60 "$BIN/conform" stop --state-dir "$W/state" >"$W/stop.log" 2>&1 ||
		srow "WARNING conform stop" "failed (see $W/stop.log)"
else
	srow "WARNING conform start" "failed: $(tail -n 1 "$W/start.log")"
fi

# ---- 8. sidecar path: wrk through outbound + mTLS inbound HAProxy ----
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
			mratio sidecar/direct "$(ratio "$wrk_rps" "$OURS_HTTP")"
		else
			srow "WARNING sidecar path" "did not come up (see $W/mesh-*.log)"
		fi
	else
		srow "WARNING sidecar path" "meshtool gen failed: $(tail -n 1 "$W/mesh.err")"
	fi
else
	srow "sidecar path" "skipped (haproxy or meshtool missing)"
fi

# ---- 9. a long run's history: a synthetic store of BENCH_HISTORY_DAYS (default 1) ----
# The figures history-7d-* need BENCH_HISTORY_DAYS=7 (11 checks by default
# then, BENCH_HISTORY_CHECKS to change): generating that week takes about 12
# minutes on 2 cores, which does not fit the 3 minutes of make bench.
H7="$ROOT/$BUILD/test/tools/history7d"
[ -x "$H7" ] || make -s BUILD="$BUILD" "$BUILD/test/tools/history7d" >/dev/null 2>&1
HDAYS=${BENCH_HISTORY_DAYS:-1}
if [ "$HDAYS" = 7 ]; then HCHECKS=${BENCH_HISTORY_CHECKS:-11}; else HCHECKS=${BENCH_HISTORY_CHECKS:-3}; fi
if [ -x "$H7" ]; then
	echo "== history: ${HDAYS}-day synthetic store, $HCHECKS checks at 10 req/s (test/tools/history7d)"
	if timeout $((120 + HDAYS * HCHECKS * 20)) "$H7" --days "$HDAYS" --checks "$HCHECKS" \
		>"$W/history.out" 2>&1; then
		sed 's/^/  /' "$W/history.out"
		hv() { sed -n "s/^history7d .* $1=\([^ ]*\).*/\1/p" "$W/history.out"; }
		rb=$(sed -n 's/^report_build: *\([0-9.]*\) ms.*/\1/p' "$W/history.out")
		sb=$(sed -n 's/^status build: *\([0-9.]*\) ms.*/\1/p' "$W/history.out")
		srow "history ${HDAYS}d: database bytes per check-day" "$(hv bytes_per_check_day)"
		srow "history ${HDAYS}d: report_build" "$rb ms"
		srow "history ${HDAYS}d: status build" "$(sed -n 's/^status build: *//p' "$W/history.out")"
		srow "history ${HDAYS}d: render html" "$(sed -n 's/^render html *//p' "$W/history.out")"
		if [ "$HDAYS" = 7 ]; then
			mfigure history-7d-db "$(python3 -c "print('%.1f' % ($(hv db_bytes) / 1e6))")" MB
			mfigure history-7d-report "$rb" ms
			mfigure history-7d-status "$sb" ms
		fi
	else
		srow "WARNING history7d" "failed: $(tail -n 1 "$W/history.out")"
	fi
else
	srow "history" "skipped (history7d missing)"
fi
if [ "$HDAYS" != 7 ]; then
	mfigure history-7d-db n/a MB
	mfigure history-7d-report n/a ms
	mfigure history-7d-status n/a ms
fi

# ---- summary ----
echo
echo "== summary (higher is better for rates and ratios)"
for r in "${summary[@]}"; do
	IFS='|' read -r k v n <<<"$r"
	row "$k" "$v" "$n"
done
echo
echo "== figures ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
for m in "${machine[@]}"; do echo "$m"; done
