#!/usr/bin/env bash
# docker/build.sh [TAG]: builds the oxkey image (default oxkey:latest) from
# docker/Dockerfile, with or without a registry.
#
# Where the builder image (the Dockerfile's RUST_IMAGE, rust:1.95-bookworm)
# can be pulled, this is plain `docker build -f docker/Dockerfile -t TAG .`.
# The runtime stage is FROM scratch, so the builder is the only image the
# build needs. Where no registry answers (an offline CI runner, this
# project's build machine), the script makes a stand-in builder once and
# passes it as --build-arg RUST_IMAGE, the Dockerfile unchanged:
#
#   - a Debian bookworm minbase rootfs made with debootstrap from Debian's
#     mirror (DEBIAN_MIRROR), with the parts of the official rust image the
#     build uses (PACKAGES: a C compiler for Lua, make for jemalloc);
#   - the host's Rust toolchain (the `rustc` on PATH, rustup's) copied in
#     where the official image keeps it, with the same RUSTUP_HOME,
#     CARGO_HOME and PATH;
#   - `docker import`ed as oxkey-local/rust:VERSION-bookworm.
#
# The stand-in has a name of its own rather than rust:1.95-bookworm: under
# the official name it would shadow the real image once pulls work (docker
# build uses a local tag without asking the registry). It is kept, so later
# builds reuse it while its package list is this script's; `docker rmi` it
# to make it again.
#
# Crates: where a registry is reachable cargo fetches them inside the build
# from crates.io. With the stand-in, the host's cargo fetches them instead
# (`cargo vendor` into docker/vendor, which the Dockerfile then uses), since
# such a machine's containers often cannot reach crates.io either (here, an
# intercepting proxy whose certificate only the host trusts).
# Making the stand-in needs root (debootstrap), via sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

TAG=${1:-oxkey:latest}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BUILDER=$(sed -n 's/^ARG RUST_IMAGE=//p' docker/Dockerfile)
PACKAGES=gcc,libc6-dev,make,ca-certificates

say() { echo "build.sh [${SECONDS} s]: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Makes oxkey-local/rust:VERSION-bookworm from debootstrap and the host's
# toolchain; prints its name.
local_builder() {
    local version sysroot image root
    version=$(rustc --version | awk '{print $2}')
    sysroot=$(rustc --print sysroot)
    image=oxkey-local/rust:$version-bookworm
    if docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" 2>/dev/null |
        grep -qx "OXKEY_STANDIN_PACKAGES=$PACKAGES"; then
        echo "$image"
        return
    fi
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        as_root apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    fi
    root=$(mktemp -d /tmp/oxkey-builder.XXXXXX)
    # shellcheck disable=SC2064 # the directory is known now
    trap "as_root rm -rf '$root'" EXIT
    say "debootstrap bookworm from $MIRROR into $root"
    as_root debootstrap --variant=minbase --include="$PACKAGES" \
        bookworm "$root" "$MIRROR" >&2
    as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    local toolchain=$root/usr/local/rustup/toolchains/$version-x86_64-unknown-linux-gnu
    say "copying the Rust toolchain $sysroot"
    as_root mkdir -p "$toolchain/bin" "$root/usr/local/cargo/bin"
    as_root cp -a "$sysroot/lib" "$toolchain/"
    for tool in cargo rustc rustdoc; do
        as_root cp -a "$sysroot/bin/$tool" "$toolchain/bin/"
        as_root ln -s "../../rustup/toolchains/$version-x86_64-unknown-linux-gnu/bin/$tool" \
            "$root/usr/local/cargo/bin/$tool"
    done
    say "importing $image"
    as_root tar --numeric-owner -C "$root" -c . | docker import \
        --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
        --change 'ENV CARGO_HOME=/usr/local/cargo' \
        --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "ENV RUST_VERSION=$version" \
        --change "ENV OXKEY_STANDIN_PACKAGES=$PACKAGES" \
        --change 'CMD ["bash"]' \
        - "$image" >&2
    as_root rm -rf "$root"
    trap - EXIT
    echo "$image"
}

args=()
rm -rf docker/vendor
if ! docker image inspect "$BUILDER" >/dev/null 2>&1 && ! docker pull "$BUILDER" >&2; then
    say "cannot pull $BUILDER; building with a local stand-in"
    args+=(--build-arg "RUST_IMAGE=$(local_builder)")
    say "cargo vendor into docker/vendor"
    cargo vendor --locked --quiet docker/vendor >/dev/null
fi
say "docker build -f docker/Dockerfile -t $TAG ${args[*]}"
status=0
docker build -f docker/Dockerfile -t "$TAG" "${args[@]}" . || status=$?
rm -rf docker/vendor
[ "$status" = 0 ] || exit "$status"
say "built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.1f MB", $1 / 1e6}'))"
