#!/usr/bin/env bash
# Installs what the project's make targets and tests need, and nothing that
# is already there: run it as often as you like (`make setup` does).
#
#   setup.sh [rust] [system] [venv]     (no argument: all three)
#
# rust    rustup targets x86_64- and aarch64-unknown-linux-musl for the
#         project's toolchain; with a nightly toolchain installed, its
#         rust-src and x86_64 musl target too (for `make tiny`) and miri
#         (`make miri`). A nightly toolchain itself is not installed: `make
#         tiny` and `make miri` are optional.
# system  Debian packages: qemu-user (runs the arm64 binary here), curl
#         (`make run`), python3-venv; `apt-get update` only when one is missing.
# venv    .venv (git-ignored) with the pinned cargo-lambda, aws-sam-cli and
#         awscli of scripts/requirements.txt; reinstalled when the pins change.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NIGHTLY=${NIGHTLY:-nightly}
MUSL_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)

say() { printf 'setup: %s\n' "$*"; }

# Prints the names in "$@" that are not lines of stdin.
missing_from() {
    local have
    have=$(cat)
    local name
    for name in "$@"; do
        grep -qxF "$name" <<<"$have" || printf '%s\n' "$name"
    done
}

rust() {
    if ! command -v rustup >/dev/null; then
        say "rustup not found: install it (https://rustup.rs) and run make setup again" >&2
        return 1
    fi
    cd "$ROOT"
    local missing
    missing=$(rustup target list --installed | missing_from "${MUSL_TARGETS[@]}")
    if [[ -n $missing ]]; then
        say "rustup target add" $missing
        # shellcheck disable=SC2086
        rustup target add $missing
    fi
    if ! rustup toolchain list | grep -q "^$NIGHTLY"; then
        say "no '$NIGHTLY' toolchain: make tiny is unavailable (optional)"
        return 0
    fi
    if ! rustup component list --installed --toolchain "$NIGHTLY" | grep -q '^rust-src'; then
        say "rustup component add rust-src --toolchain $NIGHTLY"
        rustup component add rust-src --toolchain "$NIGHTLY"
    fi
    if ! rustup component list --installed --toolchain "$NIGHTLY" | grep -q '^miri'; then
        say "rustup component add miri --toolchain $NIGHTLY"
        rustup component add miri --toolchain "$NIGHTLY"
    fi
    # aarch64's musl std is not published for every nightly; `make tiny
    # ARCH=arm64` borrows the stable toolchain's musl objects instead.
    if [[ -n $(rustup target list --installed --toolchain "$NIGHTLY" | missing_from x86_64-unknown-linux-musl) ]]; then
        say "rustup target add x86_64-unknown-linux-musl --toolchain $NIGHTLY"
        rustup target add x86_64-unknown-linux-musl --toolchain "$NIGHTLY"
    fi
}

system() {
    local need=()
    command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
    command -v curl >/dev/null || need+=(curl)
    command -v python3 >/dev/null || need+=(python3)
    if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        need+=(python3-venv)
    fi
    ((${#need[@]})) || return 0
    if ! command -v apt-get >/dev/null; then
        say "missing ${need[*]}: install them with your package manager" >&2
        return 1
    fi
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    say "apt-get install ${need[*]}"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

venv() {
    local venv="$ROOT/.venv" pins="$ROOT/scripts/requirements.txt"
    local stamp="$venv/.installed-requirements.txt"
    if [[ -f $stamp ]] && cmp -s "$stamp" "$pins"; then
        return 0
    fi
    if [[ ! -x $venv/bin/python ]]; then
        say "python3 -m venv .venv"
        python3 -m venv "$venv"
    fi
    say "pip install -r scripts/requirements.txt into .venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$pins"
    cp "$pins" "$stamp"
}

(($#)) || set -- rust system venv
for step in "$@"; do
    case $step in
    rust | system | venv) "$step" ;;
    *)
        say "unknown step '$step' (rust, system, venv)" >&2
        exit 2
        ;;
    esac
done
