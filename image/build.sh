#!/bin/sh
# build.sh - build conform's OCI image without a registry or a daemon: the
# runtime libraries come from Debian packages (mmdebstrap, variant extract: the
# packages of image/packages.txt and their dependencies are unpacked, nothing is
# configured, so no shell, dpkg or apt lands in the image), the binaries from
# the build (kubectl, from Debian's kubernetes-client, in /usr/bin: the CLI
# runs it); umoci makes the OCI layout, skopeo turns it into a docker-archive
# that `docker load`, `podman load` and `kind load image-archive` accept.
#   image/build.sh BIN_DIR OUT_DIR VERSION
# Writes OUT_DIR/conform-image.tar (tagged conform:VERSION) and OUT_DIR/oci/.
# IMAGE_SOURCES: apt sources for the image (a sources file or "deb ..." lines,
# one mmdebstrap MIRROR argument each); default: this machine's Debian sources.
# IMAGE_SUITE: Debian suite (default bookworm, what the binaries are built on).
# Needs root (mmdebstrap's root mode, file owners in the layer).
set -eu

[ $# -eq 3 ] || { echo "usage: image/build.sh BIN_DIR OUT_DIR VERSION" >&2; exit 2; }
bin=$1 out=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=${IMAGE_SUITE:-bookworm}
uid=65532

die() { echo "image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "building the image needs root (mmdebstrap root mode, root-owned files in the layer); run make image as root"
for t in mmdebstrap umoci skopeo ldconfig strip; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found; run make deps"
done
for b in conform conformd conform-workload; do
	[ -x "$bin/$b" ] || die "$bin/$b missing; run make first"
done

# the package list must still match what the binaries load
want=$(grep -v '^#' "$here/packages.txt" | sed '/^$/d')
have=$("$here/runtime-packages.sh" "$bin/conform" "$bin/conformd" "$bin/conform-workload")
if [ "$want" != "$have" ]; then
	echo "image: image/packages.txt (-) differs from what the binaries load (+):" >&2
	printf '%s\n' "$have" | diff -u "$here/packages.txt" - | grep '^[-+][a-z0-9]' >&2 || true
	die "run make image-packages and commit image/packages.txt"
fi

if [ -z "${IMAGE_SOURCES:-}" ]; then
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [ -s "$f" ]; then IMAGE_SOURCES=$f; break; fi
	done
fi
[ -n "${IMAGE_SOURCES:-}" ] || die "no apt sources found; set IMAGE_SOURCES to a sources file"

work=$out/work
rootfs=$work/rootfs
oci=$work/oci
rm -rf "$work"
mkdir -p "$out" "$work"

# 1. the libraries, from Debian packages only
include=$(printf '%s\n' "$want" | paste -sd, -)
echo "image: mmdebstrap $suite ($(printf '%s\n' "$want" | wc -l) packages and their dependencies)"
# shellcheck disable=SC2086 # IMAGE_SOURCES: one or more mirror arguments
mmdebstrap --quiet --mode=root --variant=extract --include="$include" \
	"$suite" "$rootfs" $IMAGE_SOURCES

# 2. keep the runtime, drop what nobody reads at run time (docs, man pages,
# apt and dpkg state of the extraction, caches)
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" \
	"$rootfs/usr/share/locale" "$rootfs/usr/share/lintian" "$rootfs/usr/share/bug" \
	"$rootfs/usr/share/doc-base" "$rootfs/usr/share/gcc" "$rootfs/usr/share/gdb" \
	"$rootfs/etc/apt" "$rootfs/var/lib/apt" "$rootfs/var/cache" "$rootfs/var/log" \
	"$rootfs/var/lib/dpkg" "$rootfs/usr/lib/apt"
# the device nodes, hostname, resolv.conf and fstab of the extraction (the
# container runtime provides /dev and /etc/{hosts,hostname,resolv.conf}); the
# iconv modules (8 MB: conform converts no charsets, glibc keeps UTF-8 and
# ASCII built in)
find "$rootfs/dev" -mindepth 1 -delete
rm -rf "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf" "$rootfs/etc/fstab" \
	"$rootfs/etc/dpkg" "$rootfs/usr/lib/x86_64-linux-gnu/gconv"
mkdir -p "$rootfs/proc" "$rootfs/sys"
# nothing was configured: the loader's cache is made from outside
ldconfig -r "$rootfs"
[ ! -e "$rootfs/bin/sh" ] && [ ! -e "$rootfs/usr/bin/sh" ] ||
	die "a shell got into the image; check image/packages.txt for packages that pull one in"

# 3. the binaries, stripped, and a non-root user to run them
mkdir -p "$rootfs/usr/local/bin"
for b in conform conformd conform-workload; do
	strip --strip-unneeded -o "$rootfs/usr/local/bin/$b" "$bin/$b"
	chmod 0755 "$rootfs/usr/local/bin/$b"
done
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/var/lib/conform"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/usr/sbin/nologin\n' \
	"$uid" "$uid" >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' "$uid" >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chown "$uid:$uid" "$rootfs/home/nonroot" "$rootfs/var/lib/conform"
chmod 0700 "$rootfs/var/lib/conform"

# 4. one layer, the config, then the docker-archive
umoci init --layout "$oci"
umoci new --image "$oci:conform"
umoci unpack --image "$oci:conform" "$work/bundle" >/dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$oci:conform" "$work/bundle"
umoci config --image "$oci:conform" --tag "$version" \
	--os linux --architecture amd64 \
	--config.user "$uid:$uid" \
	--config.workingdir /home/nonroot \
	--config.env PATH=/usr/local/bin:/usr/bin \
	--config.env HOME=/home/nonroot \
	--config.env CONFORM_STATE_DIR=/var/lib/conform \
	--config.entrypoint /usr/local/bin/conform \
	--config.cmd help \
	--config.label "org.opencontainers.image.title=conform" \
	--config.label "org.opencontainers.image.version=$version" \
	--history.created_by "image/build.sh: Debian $suite libraries + conform $version"
umoci rm --image "$oci:conform"
umoci gc --layout "$oci"

rm -f "$work/conform-image.tar"
skopeo --insecure-policy copy --quiet "oci:$oci:$version" \
	"docker-archive:$work/conform-image.tar:conform:$version"
rm -rf "$out/oci"
mv "$oci" "$out/oci"
mv "$work/conform-image.tar" "$out/conform-image.tar"
rm -rf "$work"
echo "image: $out/conform-image.tar conform:$version, $(du -k "$out/conform-image.tar" | cut -f1) KiB"
