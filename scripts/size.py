#!/usr/bin/env python3
"""Print the size tables: binary and zip bytes of each build.

    size.py TARGET_DIR

Two sets of builds (`make size` makes them):

- the runtime with its tests' own function (the Cargo example
  test-function, <profile>/examples/test-function), against its guard: a
  few percent over this round's figures, so that a regression fails (the
  size tests hold the same numbers). A function in src/handler.rs can't
  change these builds.
- the built-in function (<profile>/bootstrap, src/handler.rs), against
  this round's budget for what ships: reported, not enforced (it is the
  user's file).

Builds that are not there (say, `tiny` without a nightly toolchain) get a
line saying so. The exit status is 1 when a guarded build is over its guard.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkzip import zip_size  # noqa: E402

# The official runtime (lambda_runtime 1.5 + tokio, hello world), stripped
# static musl, size-tuned like ours: measured for issue 3 on this machine.
OFFICIAL = 930_624

# (profile, arch, target triple, limit). tests/packaging.rs holds the
# guards too.
GUARDS = [
    ("release", "x86_64", "x86_64-unknown-linux-musl", 665_000),
    ("release", "arm64", "aarch64-unknown-linux-musl", 600_000),
    ("tiny", "x86_64", "x86_64-unknown-linux-musl", 313_000),
    ("tiny", "arm64", "aarch64-unknown-linux-musl", 296_000),
]
# This round's budget for the shipped build, both architectures.
BUDGETS = [
    ("release", "x86_64", "x86_64-unknown-linux-musl", 600_000),
    ("release", "arm64", "aarch64-unknown-linux-musl", 600_000),
    ("tiny", "x86_64", "x86_64-unknown-linux-musl", 255_000),
    ("tiny", "arm64", "aarch64-unknown-linux-musl", 255_000),
]


def n(value):
    return f"{value:,}"


def table(target_dir, binary, builds, limit_name, enforced):
    """Prints one table; whether a build is over its limit and enforced."""
    head = ("build", "bytes", "zip bytes", limit_name, "x official", "")
    rows = [head]
    over = False
    for profile, arch, triple, limit in builds:
        path = os.path.join(target_dir, triple, profile, binary)
        label = f"{profile} {arch}"
        if not os.path.isfile(path):
            rows.append((label, "-", "-", n(limit), "-", "not built"))
            continue
        size = os.path.getsize(path)
        verdict = f"within {limit_name}" if size <= limit else f"{n(size - limit)} over {limit_name}"
        over = over or (enforced and size > limit)
        rows.append((label, n(size), n(zip_size(path)), n(limit), f"{size / OFFICIAL:.2f}", verdict))
    rows.append(("official runtime", n(OFFICIAL), "", "", "1.00", "lambda_runtime 1.5 + tokio"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1])] + [row[-1]]
        print("  ".join(cells).rstrip())
    return over


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: size.py TARGET_DIR\n")
        return 2
    target_dir = argv[1]
    print("the runtime with its tests' function (examples/test-function): guards")
    over = table(target_dir, os.path.join("examples", "test-function"), GUARDS, "guard", True)
    print()
    print("the built-in function (src/handler.rs): this round's budget")
    table(target_dir, "bootstrap", BUDGETS, "budget", False)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
