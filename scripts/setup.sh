#!/usr/bin/env bash
# Installs what one make target needs, and nothing that is already there: run
# it as often as you like (every make target that needs tools does).
#
#   setup.sh [run] [test] [deploy] [cc]   (no argument: run, test, deploy)
#
# run     `make run`: the musl target for ARCH (default x86_64); curl and
#         python3-venv, and qemu-user only for ARCH=arm64; .venv with
#         cargo-lambda alone (scripts/requirements-run.txt, installed without
#         its dependencies: its one dependency, the 411 MB `ziglang`, serves
#         only `cargo lambda build`, and `cargo lambda watch` runs without it).
# test    `make test`: both musl targets; with a nightly toolchain installed,
#         its rust-src and x86_64 musl target (`make tiny`); qemu-user, curl,
#         python3-venv; .venv with cargo-lambda (as for run), aws-sam-cli and
#         awscli (scripts/requirements-deploy.txt: the tests build with sam
#         and check the deploy path); both C compilers (as for cc), and
#         .venv-moto with moto's DynamoDB server (scripts/requirements-moto.txt,
#         a venv of its own: its botocore is not awscli's), for the AWS SDK
#         example's test. A nightly toolchain itself is not installed:
#         `make tiny` is optional.
# cc      a C compiler for ARCH's musl target, for crates that build C (the
#         AWS SDK example's TLS): x86_64, Debian's musl-tools
#         (x86_64-linux-musl-gcc); arm64, gcc-aarch64-linux-gnu and its
#         headers, libc6-dev-arm64-cross (a "recommends", not pulled by
#         --no-install-recommends).
# deploy  `make deploy` (and invoke, logs, delete): the musl target for ARCH;
#         python3-venv; .venv with aws-sam-cli and awscli.
#
# Each requirements file is installed once and again only when it changes
# (a copy of it in .venv marks it done).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NIGHTLY=${NIGHTLY:-nightly}
ARCH=${ARCH:-x86_64}

say() { printf 'setup: %s\n' "$*"; }

triple() {
    case $1 in
    x86_64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    *)
        say "ARCH must be x86_64 or arm64, not '$1'" >&2
        return 1
        ;;
    esac
}

# Prints the names in "$@" that are not lines of stdin.
missing_from() {
    local have
    have=$(cat)
    local name
    for name in "$@"; do
        grep -qxF "$name" <<<"$have" || printf '%s\n' "$name"
    done
}

# rustup targets "$@" for the project's toolchain.
rust_targets() {
    if ! command -v rustup >/dev/null; then
        say "rustup not found: install it (https://rustup.rs) and run make again" >&2
        return 1
    fi
    cd "$ROOT"
    local missing
    missing=$(rustup target list --installed | missing_from "$@")
    if [[ -n $missing ]]; then
        say "rustup target add ${missing//$'\n'/ }"
        # shellcheck disable=SC2086
        rustup target add $missing
    fi
}

# What `make tiny` needs of a nightly toolchain, when there is one.
nightly_parts() {
    if ! rustup toolchain list | grep -q "^$NIGHTLY"; then
        say "no '$NIGHTLY' toolchain: make tiny is unavailable (optional)"
        return 0
    fi
    if ! rustup component list --installed --toolchain "$NIGHTLY" | grep -q '^rust-src'; then
        say "rustup component add rust-src --toolchain $NIGHTLY"
        rustup component add rust-src --toolchain "$NIGHTLY"
    fi
    # aarch64's musl std is not published for every nightly; `make tiny
    # ARCH=arm64` borrows the stable toolchain's musl objects instead.
    if [[ -n $(rustup target list --installed --toolchain "$NIGHTLY" | missing_from x86_64-unknown-linux-musl) ]]; then
        say "rustup target add x86_64-unknown-linux-musl --toolchain $NIGHTLY"
        rustup target add x86_64-unknown-linux-musl --toolchain "$NIGHTLY"
    fi
}

# Debian packages for the commands "$@" (command:package pairs), with one
# `apt-get update` and only when one is missing. python3-venv is checked by
# what it provides (ensurepip), not by a command.
system() {
    local need=() pair
    for pair in "$@"; do
        if [[ $pair == /* ]]; then
            # path:package, for a package that is files, not a command.
            [[ -e ${pair%%:*} ]] || need+=("${pair#*:}")
        elif [[ $pair == python3-venv ]]; then
            command -v python3 >/dev/null || need+=(python3)
            python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
        else
            command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
        fi
    done
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

# A venv (VENV, default .venv) with scripts/requirements-$1.txt; "$2" is an
# extra pip flag (--no-deps for cargo-lambda).
venv() {
    local venv="$ROOT/${VENV:-.venv}" pins="$ROOT/scripts/requirements-$1.txt"
    local stamp="$venv/.installed-requirements-$1.txt"
    if [[ -f $stamp ]] && cmp -s "$stamp" "$pins"; then
        return 0
    fi
    if [[ ! -x $venv/bin/python ]]; then
        say "python3 -m venv ${VENV:-.venv}"
        python3 -m venv "$venv"
    fi
    say "pip install ${2:+$2 }-r scripts/requirements-$1.txt into ${VENV:-.venv}"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ${2:+"$2"} -r "$pins"
    cp "$pins" "$stamp"
}

for_run() {
    local target
    target=$(triple "$ARCH")
    rust_targets "$target"
    local qemu=()
    [[ $ARCH != arm64 ]] || qemu=(qemu-aarch64:qemu-user)
    system curl:curl python3-venv "${qemu[@]}"
    venv run --no-deps
}

for_test() {
    rust_targets x86_64-unknown-linux-musl aarch64-unknown-linux-musl
    nightly_parts
    system qemu-aarch64:qemu-user curl:curl python3-venv "${C_COMPILERS[@]}"
    venv run --no-deps
    venv deploy
    VENV=.venv-moto venv moto
}

# Debian's C compilers for the musl targets (command or file:package).
C_COMPILER_x86_64=(x86_64-linux-musl-gcc:musl-tools)
C_COMPILER_arm64=(aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu
    /usr/aarch64-linux-gnu/include/stdio.h:libc6-dev-arm64-cross)
C_COMPILERS=("${C_COMPILER_x86_64[@]}" "${C_COMPILER_arm64[@]}")

for_cc() {
    triple "$ARCH" >/dev/null
    local compiler="C_COMPILER_$ARCH[@]"
    system "${!compiler}"
}

for_deploy() {
    local target
    target=$(triple "$ARCH")
    rust_targets "$target"
    system python3-venv
    venv deploy
}

# Named for_*: `test` would shadow the shell builtin.
(($#)) || set -- run test deploy
for purpose in "$@"; do
    case $purpose in
    run | test | deploy | cc) "for_$purpose" ;;
    *)
        say "unknown purpose '$purpose' (run, test, deploy, cc)" >&2
        exit 2
        ;;
    esac
done
