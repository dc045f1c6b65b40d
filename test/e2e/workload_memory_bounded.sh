#!/usr/bin/env bash
# workload_memory_bounded.sh - a server's memory must not depend on how many
# distinct request ids it has seen. The http-server remembers request ids to
# count attempts; that table is bounded, but if its entries are allocated as
# ids arrive, a server seeing little traffic keeps growing for hours before
# it reaches the bound (a soak sees a leak). 30000 distinct ids over one
# keep-alive connection must move the server's VmRSS by less than 1 MiB
# (about 100 B per id would be 3 MiB), while every id stays counted.
# e2e: alone (measures resident memory)
set -u
if [ -n "${SANITIZE:-}" ]; then
	echo "SKIP: memory growth is not judged on sanitizer builds (SANITIZE=$SANITIZE)"
	exit 77
fi
BIN=${CONFORM_BIN:-$(pwd)/build/bin}
WL="$BIN/conform-workload"
[ -x "$WL" ] || { echo "FAIL: $WL not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }
T=$(mktemp -d)
HS_PID=
cleanup() {
	if [ -n "$HS_PID" ]; then
		kill -TERM "$HS_PID" 2>/dev/null
		sleep 0.5
		kill -KILL "$HS_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/hs.log" ] && tail -n 20 "$T/hs.log"; exit 1; }
export CONFORM_TOKEN=memory-token-0123456789abcdef

"$WL" --role http-server --name mem --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
	--ready-file "$T/hs.ready" 2>"$T/hs.log" & HS_PID=$!
end=$((SECONDS + 30))
while [ ! -s "$T/hs.ready" ]; do
	kill -0 "$HS_PID" 2>/dev/null || fail "http-server exited before it was ready"
	[ $SECONDS -ge $end ] && fail "http-server not ready within 30 s"
	sleep 0.1
done

# warm up on repeated ids (threads, buffers), then measure distinct ids
python3 - "$T/hs.ready" 2>&1 <<'EOF' || fail "load or counting failed (reason above)"
import http.client, json, sys, time

ready = json.load(open(sys.argv[1]))
host, port = ready["listen"].rsplit(":", 1)
pid = ready["pid"]
deadline = time.monotonic() + 120

def rss_kb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %d" % pid)

conn = http.client.HTTPConnection(host, int(port), timeout=10)

def attempt(rid):
    if time.monotonic() > deadline:
        raise SystemExit("load took longer than 120 s")
    conn.request("GET", "/echo", headers={"x-request-id": rid})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit("status %d for %s" % (r.status, rid))
    return json.loads(body)["attempt"]

for i in range(3000):
    attempt("warm.mem.00000000000000aa.0.1763797000000")
base = "split.weights.http-client.0123456789abcdef.%d.%d"
n = 30000
r0 = rss_kb()
for k in range(n):
    if attempt(base % (k, 1763797000000 + k)) != 1:
        raise SystemExit("a new id %d was not counted as attempt 1" % k)
r1 = rss_kb()
growth = r1 - r0
print("rss %d -> %d kB over %d distinct ids: %+d kB (%.1f B per id)"
      % (r0, r1, n, growth, growth * 1024.0 / n))
# still remembered: the table holds far more than n ids
for k in (0, n // 2, n - 1):
    got = attempt(base % (k, 1763797000000 + k))
    if got != 2:
        raise SystemExit("id %d seen twice answered attempt %d" % (k, got))
if growth >= 1024:
    raise SystemExit("memory grows with distinct request ids: %+d kB for %d ids" % (growth, n))
EOF

kill -TERM "$HS_PID"
end=$((SECONDS + 15))
while kill -0 "$HS_PID" 2>/dev/null; do
	[ $SECONDS -ge $end ] && { kill -KILL "$HS_PID"; break; }
	sleep 0.1
done
wait "$HS_PID"; rc=$?
HS_PID=
[ $rc -gt 128 ] && fail "http-server died from signal $((rc - 128))"
[ $rc -ne 0 ] && fail "http-server exited $rc"
echo "PASS: http-server memory does not grow with distinct request ids"
