#!/usr/bin/env bash
# `make test`: proves that a user's own function cannot turn the runtime's
# tests red. Copies the project (the files git tracks, plus new ones it does
# not ignore: what a user would have) to $CARGO_TARGET_DIR/swap-test,
# replaces src/handler.rs there with examples/typed/handler.rs, and runs the
# runtime's suites (protocol, Managed Instances, streaming) in the copy:
# they run the tests' own function, so the swapped-in handler must only
# build beside them, which is the point (a user's function can't break them).
# Fails when a suite fails.
#
#   swap-test.sh [extra cargo test arguments]
#
# Environment: CARGO_TARGET_DIR (the project's target directory, so that no
# dependency is built again; default target/; the copy lives in it too), CARGO (default cargo),
# SWAP_HANDLER (default examples/typed/handler.rs), BOOTSTRAP_STRICT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO=${CARGO:-cargo}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SWAP_HANDLER=${SWAP_HANDLER:-$ROOT/examples/typed/handler.rs}

say() { printf 'swap-test: %s\n' "$*"; }

if [[ ! -f $SWAP_HANDLER ]]; then
    say "no ${SWAP_HANDLER#"$ROOT"/}: the swap test puts it in place of src/handler.rs" >&2
    exit 1
fi
if ! git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    say "needs git, and the project as a git checkout (it copies the files git knows)" >&2
    exit 1
fi

# Always the same folder: the test binaries keep the path of the package
# they were built in (CARGO_MANIFEST_DIR), and cargo, which does not count
# a package's path in what makes a build fresh, would rerun old ones from a
# folder that is gone. Its own target/ (what the tests build for themselves)
# is kept between runs; the rest is copied afresh, times included, so cargo
# rebuilds what changed, as it would in the project.
copy=$CARGO_TARGET_DIR/swap-test
mkdir -p "$copy"
find "$copy" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +

# Tracked and new (not ignored) files as they are in the working tree; a
# tracked file deleted there stays deleted.
git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
        [[ -e $ROOT/$file || -L $ROOT/$file ]] && printf '%s\0' "$file"
    done |
    tar -C "$ROOT" --null -T - -cf - | tar -C "$copy" -xf -

# A fresh time on the swapped file: it is always rebuilt.
cp "$SWAP_HANDLER" "$copy/src/handler.rs"
say "src/handler.rs <- ${SWAP_HANDLER#"$ROOT"/}, in $copy"

# Cargo names a path package's build outputs by its name and version, not by
# its folder: the copy, built into the same target directory, would write
# over the project's own outputs (and a later build of the project, whose
# sources are older, would take them for its own). A version of its own
# keeps them apart; the dependencies, unchanged, are shared.
sed -i '0,/^version = "\([^"+]*\)"/s//version = "\1+swap-test"/' "$copy/Cargo.toml"
if ! grep -q '^version = "[^"]*+swap-test"' "$copy/Cargo.toml"; then
    say "cannot give the copy a version of its own: no 'version = \"...\"' line in Cargo.toml" >&2
    exit 1
fi

say "cargo test --test protocol --test concurrency --test streaming $* (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cd "$copy"
CARGO_TARGET_DIR=$CARGO_TARGET_DIR "$CARGO" test --test protocol --test concurrency --test streaming "$@"
say "passed: the protocol suite is green with another function in src/handler.rs"
