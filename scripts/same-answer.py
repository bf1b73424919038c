#!/usr/bin/env python3
"""Whether an answer is the expected one, as make run and the emulator
tests judge it:

    same-answer.py EXPECTED_FILE STATUS ANSWER_FILE

Expected JSON: the same JSON, and a function error (an object with
`errorType`) is cargo lambda's status 500, anything else 200. Expected
text that is not JSON: status 200 and the same text, trailing whitespace
aside. Exit status 0 when it is, 1 when not.
"""

import json
import sys


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: same-answer.py EXPECTED_FILE STATUS ANSWER_FILE\n")
        return 2
    with open(argv[1], "rb") as f:
        expected = f.read()
    status = argv[2]
    with open(argv[3], "rb") as f:
        answer = f.read()
    try:
        wanted = json.loads(expected)
        got = json.loads(answer)
    except ValueError:
        return 0 if status == "200" and answer.rstrip() == expected.rstrip() else 1
    error = isinstance(wanted, dict) and "errorType" in wanted
    return 0 if status == ("500" if error else "200") and got == wanted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
