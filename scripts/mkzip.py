#!/usr/bin/env python3
"""Write a Lambda deployment zip that depends on the binary's bytes alone.

    mkzip.py BINARY OUT.zip

The zip holds one entry, `bootstrap`, at its root, mode 0755 (rwxr-xr-x),
made on "Unix", dated 1980-01-01 00:00 (the earliest date a zip can hold),
deflated at level 9, with no extra fields and no comment. Nothing of the
build machine (file times, owner, umask, locale) goes in, so the same binary
always gives the same zip, byte for byte, and the function's code hash
(CodeSha256) changes only when the code does.

OUT.zip is written to a temporary file beside it and renamed into place, so
a reader never sees half a zip.
"""

import os
import sys
import tempfile
import zipfile

ENTRY = "bootstrap"
EPOCH = (1980, 1, 1, 0, 0, 0)
UNIX = 3
MODE = 0o100755  # regular file, rwxr-xr-x


def zip_bytes_to(binary_path, out):
    """Writes the zip of `binary_path` to the open binary file `out`."""
    with open(binary_path, "rb") as f:
        data = f.read()
    info = zipfile.ZipInfo(ENTRY, date_time=EPOCH)
    info.create_system = UNIX
    info.external_attr = MODE << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def zip_size(binary_path):
    """The size in bytes of the zip `binary_path` would give."""
    with tempfile.TemporaryFile() as f:
        zip_bytes_to(binary_path, f)
        return f.tell()


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mkzip.py BINARY OUT.zip\n")
        return 2
    binary, out = argv[1], argv[2]
    if not os.path.isfile(binary):
        sys.stderr.write(f"mkzip.py: no binary at {binary}\n")
        return 1
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bootstrap-", suffix=".zip", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            zip_bytes_to(binary, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"{out}: {os.path.getsize(out)} bytes (bootstrap: {os.path.getsize(binary)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
