#!/usr/bin/env bash
# interop_python_grpc.sh - an independent gRPC implementation (Debian's
# python3-grpcio) calls our grpc-server: Unary and a Bidi stream, checking
# every reply field (server, version, request_id, attempt, identity, seq,
# payload), the injected fault status and the unknown-method status.
# Fails when /usr/bin/python3 cannot import grpc (make deps installs python3-grpcio).
set -u
BIN=${CONFORM_BIN:-$(pwd)/build/bin}
WL="$BIN/conform-workload"
PROTO="$(cd "$(dirname "$0")/../.." && pwd)/proto/conform.proto"
PY=/usr/bin/python3
if ! "$PY" -c 'import grpc' 2>/dev/null; then
	echo "FAIL: $PY cannot import grpc (Debian package python3-grpcio; make deps installs it)"
	exit 1
fi
[ -x "$WL" ] || { echo "FAIL: $WL not built"; exit 1; }
command -v protoc >/dev/null || { echo "FAIL: protoc not found"; exit 1; }
T=$(mktemp -d)
GS_PID=
cleanup() {
	[ -n "$GS_PID" ] && { kill -TERM "$GS_PID" 2>/dev/null; sleep 0.2; kill -KILL "$GS_PID" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$T/gs.log"; exit 1; }

export CONFORM_TOKEN=interop-token-0123456789
export GRPC_VERBOSITY=ERROR
protoc --proto_path="$(dirname "$PROTO")" --python_out="$T" "$PROTO" || fail "protoc --python_out"

"$WL" --role grpc-server --name interop-srv --version v7 --listen 127.0.0.1:0 \
	--admin 127.0.0.1:0 --ready-file "$T/gs.ready" 2>"$T/gs.log" & GS_PID=$!
end=$((SECONDS + 10))
while [ ! -s "$T/gs.ready" ]; do
	[ $SECONDS -ge $end ] && fail "grpc-server not ready"
	kill -0 "$GS_PID" 2>/dev/null || fail "grpc-server exited"
	sleep 0.05
done
ADDR=$(sed -n 's/.*"listen":"\([^"]*\)".*/\1/p' "$T/gs.ready")
ADMIN=$(sed -n 's/.*"admin":"\([^"]*\)".*/\1/p' "$T/gs.ready")

cat >"$T/client.py" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[1])
import conform_pb2 as pb

addr, phase = sys.argv[2], sys.argv[3]
ch = grpc.insecure_channel(addr)
grpc.channel_ready_future(ch).result(timeout=10)
unary = ch.unary_unary('/conform.v1.Echo/Unary',
                       request_serializer=pb.EchoRequest.SerializeToString,
                       response_deserializer=pb.EchoReply.FromString)
bidi = ch.stream_stream('/conform.v1.Echo/Bidi',
                        request_serializer=pb.EchoRequest.SerializeToString,
                        response_deserializer=pb.EchoReply.FromString)
md = (('l5d-client-id', 'py.client.identity'),)

def check(cond, what):
    if not cond:
        print('FAIL:', what); sys.exit(1)

if phase == 'ok':
    for i in (1, 2):
        r = unary(pb.EchoRequest(request_id='py-req-1', check='grpc.basic', seq=5, payload=b'\x00hi'),
                  metadata=md, timeout=5)
        check(r.server == 'interop-srv', 'server %r' % r.server)
        check(r.version == 'v7', 'version %r' % r.version)
        check(r.request_id == 'py-req-1', 'request_id %r' % r.request_id)
        check(r.attempt == i, 'attempt %d, want %d' % (r.attempt, i))
        check(r.identity == 'py.client.identity', 'identity %r' % r.identity)
        check(r.seq == 5 and r.payload == b'\x00hi', 'seq/payload')
    r = unary(pb.EchoRequest(request_id='py-req-2'), timeout=5)
    check(r.identity == '' and r.attempt == 1, 'no identity header -> ""')
    # delay_ms is honoured
    import time
    t = time.monotonic()
    unary(pb.EchoRequest(request_id='py-slow', delay_ms=300), timeout=5)
    check(time.monotonic() - t >= 0.28, 'delay_ms not honoured')
    try:
        unary(pb.EchoRequest(request_id='py-slow2', delay_ms=2000), timeout=0.3)
        check(False, 'deadline not hit')
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, 'want DEADLINE_EXCEEDED, got %s' % e.code())
    # bidi: 50 messages on one stream, echoed in order with seq
    reqs = [pb.EchoRequest(request_id='py-s-%d' % i, check='grpc.stream', seq=i) for i in range(50)]
    got = list(bidi(iter(reqs), metadata=md, timeout=10))
    check(len(got) == 50, 'bidi echoed %d of 50' % len(got))
    for i, r in enumerate(got):
        check(r.seq == i and r.request_id == 'py-s-%d' % i, 'bidi seq %d' % i)
        check(r.identity == 'py.client.identity' and r.version == 'v7' and r.attempt == 1, 'bidi fields')
    # unknown method
    other = ch.unary_unary('/conform.v1.Echo/Nope')
    try:
        other(b'', timeout=5)
        check(False, 'unknown method answered')
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, 'unknown method: %s' % e.code())
    print('python interop ok')
elif phase == 'fault':
    for i in range(5):
        try:
            unary(pb.EchoRequest(request_id='py-f-%d' % i), timeout=5)
            check(False, 'fault not injected')
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAVAILABLE, 'fault status %s' % e.code())
    # faults are for Unary only: the stream still echoes
    got = list(bidi(iter([pb.EchoRequest(request_id='py-fb', seq=1)]), timeout=5))
    check(len(got) == 1 and got[0].seq == 1, 'bidi under unary fault')
    print('python fault ok')
PY

"$PY" "$T/client.py" "$T" "$ADDR" ok || fail "python client (ok phase)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "x-conform-token: $CONFORM_TOKEN" \
	-d '{"error_rate":1}' "http://$ADMIN/admin/fault")
[ "$code" = 200 ] || fail "admin POST answered $code"
"$PY" "$T/client.py" "$T" "$ADDR" fault || fail "python client (fault phase)"

kill -TERM "$GS_PID"
wait "$GS_PID"; rc=$?
GS_PID=
[ $rc -eq 0 ] || fail "grpc-server exited $rc on SIGTERM"
echo "PASS: python grpcio talks to our grpc-server"
