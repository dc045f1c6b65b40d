# conform's image for those who build with docker or podman: a build stage
# with the -dev packages, a runtime stage with the runtime libraries and kubectl of
# image/packages.txt (the list `make image` uses too). `make image` builds
# the same binaries and libraries without docker or a registry, and with no
# shell or package manager in the image; this runtime stage, being Debian
# slim, has both.
#   docker build -t conform:0.1.0 .
ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
COPY image/build-packages.txt /tmp/build-packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/build-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# build/config.mk written here: the Makefile would make it through
# scripts/deps.sh, which also installs the test tools (haproxy, chromium...)
RUN rm -rf build && mkdir -p build \
 && pkgs=$(sed -n 's/^PKGS := //p' Makefile) \
 && { echo "PKG_CFLAGS := $(pkg-config --cflags $pkgs)"; \
      echo "PKG_LIBS := $(pkg-config --libs $pkgs)"; } > build/config.mk \
 && make -j"$(nproc)" DEVELOPER=1 build/bin/conform build/bin/conformd build/bin/conform-workload \
 && strip --strip-unneeded build/bin/conform build/bin/conformd build/bin/conform-workload

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
COPY image/packages.txt /tmp/packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* /tmp/packages.txt \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home \
      --shell /usr/sbin/nologin nonroot \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/conform
COPY --from=build /src/build/bin/conform /src/build/bin/conformd /src/build/bin/conform-workload /usr/local/bin/
USER 65532:65532
WORKDIR /home/nonroot
ENV HOME=/home/nonroot CONFORM_STATE_DIR=/var/lib/conform
LABEL org.opencontainers.image.title=conform
ENTRYPOINT ["/usr/local/bin/conform"]
CMD ["help"]
