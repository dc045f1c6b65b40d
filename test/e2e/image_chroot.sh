#!/usr/bin/env bash
# image_chroot.sh - the image `make image` builds, run without a container
# engine: the docker-archive's manifest.json must carry the conform:<version>
# tag, its config a non-root numeric user; its layers, unpacked in order into
# a temporary root, must hold no shell, compiler, package manager or haproxy;
# and in that root, under chroot as the image's user, `conform version`
# prints the version, `conformd --help` answers, `kubectl version --client`
# runs (the CLI drives a kubernetes run through it, found on the image's
# PATH), `conform start --platform kubernetes` in a pod's environment (a
# service-account directory, no kubeconfig) writes its kubeconfig and gets
# kubectl's "connection refused", and `conform-workload --role
# http-server` serves HTTP on loopback (port 0 + ready file, as the other
# workload tests), and a grpc-server gets ready and accepts. Builds the image
# through make when it is missing or older than its inputs (about a minute).
# Needs root (chroot, mounts).
set -u
. "$(dirname "$0")/../lib/e2e.sh"

# the image is made from the regular build, also when the suite runs on a
# sanitizer build (BUILD=build/san): its runtime libraries are the image's
BUILD=build
TAR="$BUILD/image/conform-image.tar"
[ "$(id -u)" = 0 ] || fail "needs root for chroot and mounts (the image build needs it too)"
command -v python3 >/dev/null || fail "python3 missing; run make deps"

ROOT="$E2E_TMP/root"
MOUNTS=()
WPID=""
image_cleanup() {
	local m i
	if [ -n "$WPID" ]; then
		kill -TERM "$WPID" 2>/dev/null
		sleep 0.2
		kill -KILL "$WPID" 2>/dev/null
	fi
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${MOUNTS[i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	e2e_cleanup
}
trap image_cleanup EXIT

version=$(grep -rhs '^#define CONFORM_VERSION ' lib | sed -n 's/.*"\(.*\)".*/\1/p' | head -n 1)
[ -n "$version" ] || fail "no CONFORM_VERSION under lib/"

# make rebuilds it only when missing or older than the binaries, the package
# list or the build script (about a minute); otherwise this is a no-op
for b in conform conformd conform-workload; do
	[ -x "$BUILD/bin/$b" ] || fail "$BUILD/bin/$b not built; run make"
done
make --no-print-directory BUILD="$BUILD" image >"$E2E_TMP/make-image.log" 2>&1 ||
	fail "make image failed: $(tail -n 20 "$E2E_TMP/make-image.log")"
[ -s "$TAR" ] || fail "$TAR missing after make image"
echo "image: $TAR, $(du -k "$TAR" | cut -f1) KiB uncompressed, $(gzip -c "$TAR" | wc -c | awk '{printf "%d", $1/1024}') KiB gzipped"

# 1. the docker-archive: manifest.json, tag, config
A="$E2E_TMP/archive"
mkdir -p "$A" "$ROOT"
tar -xf "$TAR" -C "$A" || fail "$TAR is not a tar archive"
[ -s "$A/manifest.json" ] || fail "no manifest.json in the docker-archive"
python3 - "$A" "$version" >"$E2E_TMP/layers" <<'PYEOF' || fail "docker-archive manifest or config is wrong (above)"
import json, os, sys
a, version = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(a, "manifest.json")))
assert isinstance(m, list) and len(m) == 1, f"want one image in manifest.json, got {m!r}"
m = m[0]
tags = m.get("RepoTags") or []
# skopeo writes the normalized name; docker load shows it as conform:VERSION
ok = {f"conform:{version}", f"docker.io/library/conform:{version}"}
assert ok & set(tags), f"RepoTags {tags} lack conform:{version}"
cfg = json.load(open(os.path.join(a, m["Config"])))
c = cfg["config"]
user = c.get("User", "")
uid = user.split(":")[0]
assert uid.isdigit() and int(uid) != 0, f"image user {user!r} is not a numeric non-root uid"
assert cfg.get("os") == "linux", cfg.get("os")
print(f"# tags={tags} user={user} entrypoint={c.get('Entrypoint')} env={c.get('Env')}", file=sys.stderr)
for layer in m["Layers"]:
    assert os.path.isfile(os.path.join(a, layer)), f"layer {layer} missing"
    print(layer)
print("USER " + user)
env = dict(e.split("=", 1) for e in c.get("Env") or [])
assert "/usr/bin" in env.get("PATH", "").split(":"), f"the image's PATH {env.get('PATH')!r} does not reach kubectl in /usr/bin"
print("PATH " + env["PATH"])
PYEOF
user=$(sed -n 's/^USER //p' "$E2E_TMP/layers")
ipath=$(sed -n 's/^PATH //p' "$E2E_TMP/layers")

# a second reader of the archive: skopeo (what make image wrote it with, but
# its docker-archive reader is the code `podman load` uses)
if command -v skopeo >/dev/null; then
	skopeo inspect --config "docker-archive:$TAR" >"$E2E_TMP/skopeo.json" 2>&1 ||
		fail "skopeo cannot read the docker-archive: $(cat "$E2E_TMP/skopeo.json")"
	grep -q "\"User\": \"$user\"" "$E2E_TMP/skopeo.json" || fail "skopeo reads another user: $(cat "$E2E_TMP/skopeo.json")"
fi

# 2. the layers in order, whiteouts applied
while read -r layer; do
	case $layer in USER\ * | PATH\ *) continue ;; esac
	tar -xf "$A/$layer" -C "$ROOT" || fail "cannot unpack layer $layer"
	while IFS= read -r wh; do
		d=$(dirname "$wh"); b=$(basename "$wh")
		if [ "$b" = ".wh..wh..opq" ]; then
			find "$d" -mindepth 1 -maxdepth 1 ! -name '.wh..wh..opq' -exec rm -rf {} +
		else
			rm -rf "$d/${b#.wh.}"
		fi
		rm -f "$wh"
	done < <(find "$ROOT" -name '.wh.*')
done <"$E2E_TMP/layers"

note "what is in the image"
echo "/: $(ls -A "$ROOT" | tr '\n' ' ')($(find "$ROOT" -type f | wc -l) files, $(find "$ROOT" -name 'lib*.so*' -type f | wc -l) shared libraries)"
for d in bin sbin usr/bin usr/sbin usr/local/bin; do
	[ -d "$ROOT/$d" ] && echo "/$d: $(ls -A "$ROOT/$d" | tr '\n' ' ')"
done
for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do
	[ -e "$ROOT/$sh" ] || [ -L "$ROOT/$sh" ] && fail "the image has a shell: /$sh"
done
bad=$(cd "$ROOT" && find . \( -name gcc -o -name 'cc' -o -name 'cc1' -o -name 'ld' -o -name 'as' \
	-o -name 'apt' -o -name 'apt-get' -o -name 'dpkg' -o -name 'haproxy*' -o -name 'perl' -o -name 'python3*' \) \
	-not -path './proc/*' 2>/dev/null)
[ -z "$bad" ] || fail "the image carries tools it must not: $bad"
for d in usr/share/doc usr/share/man var/cache/apt var/lib/apt/lists; do
	[ -n "$(ls -A "$ROOT/$d" 2>/dev/null)" ] && fail "the image keeps /$d"
done
[ "$(ls -A "$ROOT/usr/local/bin" | sort | tr '\n' ' ')" = "conform conform-workload conformd " ] ||
	fail "/usr/local/bin holds $(ls -A "$ROOT/usr/local/bin"), want the three conform binaries"
grep -q ":${user%%:*}:" "$ROOT/etc/passwd" || fail "uid ${user%%:*} has no /etc/passwd entry"

# 3. what a container runtime provides: /dev, /proc, /etc/hosts
mount -t tmpfs -o mode=0755,size=1m tmpfs "$ROOT/dev" || fail "cannot mount /dev in the root"
MOUNTS+=("$ROOT/dev")
mknod -m 0666 "$ROOT/dev/null" c 1 3 && mknod -m 0666 "$ROOT/dev/zero" c 1 5 &&
	mknod -m 0666 "$ROOT/dev/random" c 1 8 && mknod -m 0666 "$ROOT/dev/urandom" c 1 9 ||
	fail "cannot make device nodes"
mount -t proc proc "$ROOT/proc" || fail "cannot mount /proc in the root"
MOUNTS+=("$ROOT/proc")
printf '127.0.0.1 localhost\n' >"$ROOT/etc/hosts"

CHROOT=$(command -v chroot) || fail "chroot not found (coreutils)"
# the image's environment only: nothing of this machine's leaks in
run_in() { env -i PATH="$ipath" HOME=/home/nonroot "$CHROOT" --userspec="$user" "$ROOT" "$@"; }

note "conform version"
out=$(run_in /usr/local/bin/conform version 2>&1) || fail "conform version in the image: $out"
echo "$out"
[ "$out" = "conform $version" ] || fail "conform version printed '$out', want 'conform $version'"

note "conformd --help"
out=$(run_in /usr/local/bin/conformd --help 2>&1) || fail "conformd --help in the image: $out"
grep -q '^usage: conformd' <<<"$out" || fail "conformd --help: $out"

note "kubectl version --client"
# by name, as the CLI execs it: the image's PATH must reach it
out=$(run_in kubectl version --client 2>&1) || fail "kubectl version --client in the image: $out"
echo "$out"
grep -q 'Client Version' <<<"$out" || fail "kubectl version --client printed no client version: $out"

note "conform in a pod: the kubeconfig from the service account, kubectl found"
# a service-account directory as the kubelet mounts it, the API server
# address nothing listens on: the CLI must write its kubeconfig and get as
# far as kubectl saying the cluster does not answer
mkdir -p "$ROOT/tmp/sa"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null \
	-out "$ROOT/tmp/sa/ca.crt" -days 1 -subj /CN=ca 2>/dev/null || fail "openssl req"
printf 't0ken' >"$ROOT/tmp/sa/token"
printf 'conform' >"$ROOT/tmp/sa/namespace"
chmod -R a+rX "$ROOT/tmp/sa"
out=$(env -i PATH="$ipath" HOME=/tmp NO_COLOR=1 CONFORM_STATE_DIR=/tmp/state \
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=1 CONFORM_KUBE_SA_DIR=/tmp/sa \
	"$CHROOT" --userspec="$user" "$ROOT" /usr/local/bin/conform start --platform kubernetes 2>&1)
rc=$?
echo "$out" | head -n 2
[ $rc -eq 3 ] || fail "conform start in the image's pod environment: exit $rc, want 3: $out"
grep -q 'cluster unreachable' <<<"$out" || fail "conform start did not reach kubectl's connect error: $out"
grep -q '"tokenFile":[[:space:]]*"/tmp/sa/token"' "$ROOT/tmp/state/kubeconfig" ||
	fail "no kubeconfig from the service account: $(cat "$ROOT/tmp/state/kubeconfig" 2>&1)"

note "conform-workload --role http-server"
# not through run_in: $! must be the workload itself (env and chroot exec it)
env -i PATH=/usr/local/bin HOME=/home/nonroot "$CHROOT" --userspec="$user" "$ROOT" \
	/usr/local/bin/conform-workload --role http-server --name http-server --version v1 \
	--listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file /tmp/hs.ready 2>"$E2E_TMP/hs.log" &
WPID=$!
end=$((SECONDS + 15))
while [ ! -s "$ROOT/tmp/hs.ready" ]; do
	kill -0 "$WPID" 2>/dev/null || fail "the http-server died in the image: $(tail -n 5 "$E2E_TMP/hs.log")"
	[ $SECONDS -ge $end ] && fail "the http-server was not ready within 15 s: $(tail -n 5 "$E2E_TMP/hs.log")"
	sleep 0.1
done
listen=$(sed -n 's/.*"listen":"\([^"]*\)".*/\1/p' "$ROOT/tmp/hs.ready")
case $listen in 127.*:[0-9]*) ;; *) fail "ready file has no loopback listen address: $(cat "$ROOT/tmp/hs.ready")" ;; esac
# the server runs as the image's user, not as root
wuid=$(awk '/^Uid:/ {print $2}' "/proc/$WPID/status")
[ "$wuid" = "${user%%:*}" ] || fail "the http-server runs as uid $wuid, want ${user%%:*}"
code=$(curl -s --max-time 5 -o "$E2E_TMP/echo.out" -w '%{http_code}' -H 'x-request-id: image-1' "http://$listen/echo")
[ "$code" = 200 ] || fail "GET /echo answered $code: $(cat "$E2E_TMP/echo.out")"
echo "GET /echo: $code $(head -c 200 "$E2E_TMP/echo.out")"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$listen/healthz")
[ "$code" = 200 ] || fail "GET /healthz answered $code"
kill -TERM "$WPID"
wait "$WPID"; rc=$?
WPID=""
[ $rc -eq 0 ] || fail "the http-server exited $rc after TERM: $(tail -n 5 "$E2E_TMP/hs.log")"
# gRPC's runtime too: a grpc-server gets ready and stops cleanly
note "conform-workload --role grpc-server"
env -i PATH=/usr/local/bin HOME=/home/nonroot "$CHROOT" --userspec="$user" "$ROOT" \
	/usr/local/bin/conform-workload --role grpc-server --name grpc-server \
	--listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file /tmp/gs.ready 2>"$E2E_TMP/gs.log" &
WPID=$!
end=$((SECONDS + 15))
while [ ! -s "$ROOT/tmp/gs.ready" ]; do
	kill -0 "$WPID" 2>/dev/null || fail "the grpc-server died in the image: $(tail -n 5 "$E2E_TMP/gs.log")"
	[ $SECONDS -ge $end ] && fail "the grpc-server was not ready within 15 s: $(tail -n 5 "$E2E_TMP/gs.log")"
	sleep 0.1
done
glisten=$(sed -n 's/.*"listen":"\([^"]*\)".*/\1/p' "$ROOT/tmp/gs.ready")
case $glisten in 127.*:[0-9]*) ;; *) fail "grpc ready file has no loopback listen address" ;; esac
# a TCP connection is accepted (the HTTP/2 preface is the client's to send)
exec 5<>"/dev/tcp/${glisten%:*}/${glisten##*:}" || fail "grpc-server at $glisten refuses connections"
exec 5>&-
kill -TERM "$WPID"
wait "$WPID"; rc=$?
WPID=""
[ $rc -eq 0 ] || fail "the grpc-server exited $rc after TERM: $(tail -n 5 "$E2E_TMP/gs.log")"
echo "grpc-server ready on $glisten, stopped cleanly"

echo "PASS: conform:$version loads as a docker-archive, runs as uid ${user%%:*} with no shell, serves HTTP"
