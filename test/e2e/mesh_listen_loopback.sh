#!/usr/bin/env bash
# mesh_listen_loopback.sh - during a run on the local reference mesh
# (--mesh haproxy), every TCP and UDP socket the run listens on (conformd,
# the workloads and their HAProxy sidecars) must be bound inside 127.0.0.0/8.
# The run's processes come from conformd.pid and the status object; their
# sockets from `ss -Hltnup` / `ss -Hlunp`.
#   LOOPBACK_EXTRA_PIDS="PID ..."  also judge these processes (to show the
#                                  test failing on a process bound to 0.0.0.0)
set -u
cd "$(dirname "$0")/../.."
BIN=${CONFORM_BIN:-$(pwd)/build/bin}

fail() { echo "FAIL: $*"; exit 1; }
[ -x "$BIN/conform" ] || fail "missing $BIN/conform (make)"
command -v ss >/dev/null || fail "ss (iproute2) not installed"
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || fail "haproxy not installed"

W=$(mktemp -d)
export CONFORM_STATE_DIR="$W/state"
started=0
cleanup() {
	if [ $started = 1 ]; then
		"$BIN/conform" stop >/dev/null 2>&1
		local pidf
		pidf=$(ls "$CONFORM_STATE_DIR"/runs/*/conformd.pid 2>/dev/null | head -n 1)
		if [ -n "$pidf" ]; then
			local p i
			p=$(cat "$pidf" 2>/dev/null)
			for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
			kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
		fi
	fi
	rm -rf "$W"
}
trap cleanup EXIT

# judge ss lines on stdin against the pid set in $1; prints offenders,
# returns 1 when there is one, and writes the number judged to fd 3
judge() {
	awk -v pids=" $1 " '
	{
		line = $0; own = 0
		while (match(line, /pid=[0-9]+/)) {
			p = substr(line, RSTART + 4, RLENGTH - 4)
			if (index(pids, " " p " ")) own = 1
			line = substr(line, RSTART + RLENGTH)
		}
		if (!own) next
		n++
		# local address: the field before the peer ("*:*" / "0.0.0.0:*")
		for (i = 1; i <= NF; i++) if ($i ~ /:[0-9*]+$/) { addr = $i; break }
		a = addr; sub(/%[^:]*:/, ":", a)          # drop an interface suffix
		if (a !~ /^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/ &&
		    a !~ /^\[::ffff:127\.[0-9]+\.[0-9]+\.[0-9]+\]:[0-9]+$/) {
			print "  outside 127.0.0.0/8: " $0; bad++
		}
	}
	END { print n + 0 > "/dev/fd/3"; exit bad > 0 }'
}

# the judge itself must catch a wildcard and pass a loopback bind
printf 'LISTEN 0 128 0.0.0.0:4143 0.0.0.0:* users:(("haproxy",pid=4242,fd=7))\n' |
	judge 4242 3>/dev/null >/dev/null && fail "judge accepted 0.0.0.0"
printf 'LISTEN 0 128 [::]:4143 [::]:* users:(("haproxy",pid=4242,fd=7))\n' |
	judge 4242 3>/dev/null >/dev/null && fail "judge accepted [::]"
printf 'LISTEN 0 128 127.9.8.7:4143 0.0.0.0:* users:(("haproxy",pid=4242,fd=7))\n' |
	judge 4242 3>/dev/null >/dev/null || fail "judge refused 127.9.8.7"

"$BIN/conform" start --mesh haproxy --duration 120s --window 5s >"$W/start.out" 2>&1 ||
	{ cat "$W/start.out"; fail "conform start"; }
started=1
run_dir=$(ls -d "$CONFORM_STATE_DIR"/runs/* | head -n 1)

# every workload and sidecar running with a pid (deadline 30 s)
pids=""
for i in $(seq 150); do
	"$BIN/conform" status --json >"$W/status.json" 2>/dev/null
	pids=$(python3 - "$W/status.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
w = d.get("workloads", [])
if d.get("state") != "running" or len(w) < 10 or any(x["pid"] <= 0 for x in w):
    sys.exit(1)
print(" ".join(str(x["pid"]) for x in w))
EOF
) && break
	pids=""
	sleep 0.2
done
[ -n "$pids" ] || { cat "$W/status.json"; fail "workloads and sidecars not all running"; }
pids="$(cat "$run_dir/conformd.pid") $pids ${LOOPBACK_EXTRA_PIDS:-}"
nside=$(grep -o '"role":"sidecar-[a-z]*"' "$W/status.json" | wc -l)
[ "$nside" -ge 5 ] || fail "expected 5 sidecars in status, saw $nside"

{ ss -Hltnp; ss -Hlunp; } >"$W/ss.txt" 2>/dev/null
judge "$pids" <"$W/ss.txt" 3>"$W/count" >"$W/bad.txt"
rc=$?
n=$(cat "$W/count")
cat "$W/bad.txt"
# conformd's collector + tap receiver, 3 apps + 3 admins, 5 sidecars at least
[ "$n" -ge 13 ] || fail "only $n listening sockets of the run found (pids: $pids)"
[ $rc -eq 0 ] || fail "the run listens outside 127.0.0.0/8"
echo "ok $n listening sockets of $(echo "$pids" | wc -w) processes, all in 127.0.0.0/8"

# stop exits 1 when the (short) run is not conformant: only >= 2 is an error
"$BIN/conform" stop >"$W/stop.out" 2>&1
[ $? -le 1 ] || { cat "$W/stop.out"; fail "conform stop"; }
for p in $pids; do
	for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	case " ${LOOPBACK_EXTRA_PIDS:-} " in *" $p "*) continue ;; esac
	kill -0 "$p" 2>/dev/null && fail "process $p of the run still alive after stop"
done
started=0
echo "PASS mesh_listen_loopback"
