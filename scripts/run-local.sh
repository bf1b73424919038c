#!/usr/bin/env bash
# `make run`: the function, locally, as Lambda would run it.
#
# Starts `cargo lambda watch --only-lambda-apis` (the Runtime API and the
# invoke API, nothing else) on loopback, starts the bootstrap binary against
# it, invokes every sample event in EVENTS the way a caller does, prints the
# answers, checks each against EVENTS/expected/<event file> where there is
# one (saying so where there is none), and stops both processes on the way
# out, failed or not. Exits 1 if an answer is missing or not as expected. When the
# function exits (a failed init, a crash), it says so at once and shows the
# function's log, rather than waiting for answers that will never come.
#
# Environment: BIN (the bootstrap to run), RUNNER (e.g. qemu-aarch64 for an
# arm64 binary; empty to run it directly), PORT (default: a free one),
# EVENTS (default: events/; `make run EXAMPLE=x`: examples/x/events/),
# LOG_DIR (default: target/run), GREETING.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${BIN:?BIN must name the bootstrap binary}"
RUNNER=${RUNNER:-}
EVENTS=${EVENTS:-$ROOT/events}
LOG_DIR=${LOG_DIR:-$ROOT/target/run}
CARGO_LAMBDA=${CARGO_LAMBDA:-$ROOT/.venv/bin/cargo-lambda}
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

mkdir -p "$LOG_DIR"
emulator_log=$LOG_DIR/emulator.log
function_log=$LOG_DIR/function.log
emulator_pid=
function_pid=

stop() {
    local status=$?
    if [[ -n $function_pid ]]; then
        kill "$function_pid" 2>/dev/null || true
        wait "$function_pid" 2>/dev/null || true
    fi
    if [[ -n $emulator_pid ]]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

[[ -x $CARGO_LAMBDA ]] || { echo "run: no $CARGO_LAMBDA (make setup installs it)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "run: no binary at $BIN (make build)" >&2; exit 1; }

base=http://127.0.0.1:$PORT
echo "emulator: cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P $PORT (log: $emulator_log)"
(cd "$ROOT" && exec "$CARGO_LAMBDA" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$PORT") \
    >"$emulator_log" 2>&1 &
emulator_pid=$!

# Up when the port takes a connection (its `/` never answers: no HTTP probe).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
for _ in $(seq 600); do
    listening && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "run: the emulator exited:" >&2
        cat "$emulator_log" >&2
        exit 1
    fi
    sleep 0.1
done
listening || { echo "run: the emulator did not listen on $PORT within 60 s" >&2; exit 1; }

echo "function: ${RUNNER:+$RUNNER }$BIN with AWS_LAMBDA_RUNTIME_API=$base/.rt (log: $function_log)"
function_env=(AWS_LAMBDA_RUNTIME_API="$base/.rt" AWS_LAMBDA_FUNCTION_NAME=_)
[[ -z ${GREETING+set} ]] || function_env+=(GREETING="$GREETING")
runner=()
[[ -z $RUNNER ]] || read -r -a runner <<<"$RUNNER"
env "${function_env[@]}" "${runner[@]}" "$BIN" >"$function_log" 2>&1 &
function_pid=$!

# The function is gone: say so with its log, and stop.
function_exited() {
    echo "run: the function exited (log: $function_log):" >&2
    sed 's/^/  /' "$function_log" >&2
    exit 1
}

# Invokes the event file $1 and waits for the answer (at most 30 s), checking
# meanwhile that the function still runs: the emulator holds an invoke open
# for as long as no runtime answers it. A function that dies after posting
# its answer (a panic report, then abort) still gets that answer shown: the
# emulator gets one second to pass it on.
invoke() {
    curl -sS --max-time 30 -o "$answer" -D "$headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "@$1" \
        "$base/2015-03-31/functions/_/invocations" >"$status" &
    local curl_pid=$! grace=0
    while kill -0 "$curl_pid" 2>/dev/null; do
        if ! kill -0 "$function_pid" 2>/dev/null && ((++grace > 20)); then
            kill "$curl_pid" 2>/dev/null || true
            wait "$curl_pid" 2>/dev/null || true
            echo "  -> no answer" >&2
            function_exited
        fi
        sleep 0.05
    done
    wait "$curl_pid"
}

failed=0
answer=$LOG_DIR/answer
headers=$LOG_DIR/headers
status=$LOG_DIR/status
shopt -s nullglob
events=("$EVENTS"/*)
shopt -u nullglob
((${#events[@]})) || { echo "run: no events in $EVENTS" >&2; exit 1; }
echo
for event in "${events[@]}"; do
    [[ -f $event ]] || continue
    printf '%s  %s\n' "${event#"$ROOT"/}" "$(head -c 200 "$event")"
    if ! invoke "$event"; then
        echo "  -> no answer" >&2
        failed=1
        continue
    fi
    code=$(cat "$status")
    # A function error is an answer too: cargo lambda gives it status 500
    # (real Lambda: 200 with X-Amz-Function-Error: Unhandled).
    kind=$(grep -i '^x-amz-function-error:' "$headers" | tr -d '\r' | cut -d' ' -f2- || true)
    printf '  -> %s%s %s\n' "$code" "${kind:+ (function error: $kind)}" "$(cat "$answer")"
    [[ $code == 200 || $code == 500 ]] || failed=1
    expected=$EVENTS/expected/$(basename "$event")
    if [[ ! -f $expected ]]; then
        printf '  not checked: no %s\n\n' "${expected#"$ROOT"/}"
    elif python3 "$ROOT/scripts/same-answer.py" "$expected" "$code" "$answer"; then
        printf '  as expected (%s)\n\n' "${expected#"$ROOT"/}"
    else
        printf '  NOT AS EXPECTED: %s says %s\n\n' "${expected#"$ROOT"/}" "$(cat "$expected")"
        failed=1
    fi
    kill -0 "$function_pid" 2>/dev/null || function_exited
done

if [[ -s $function_log ]]; then
    echo "function log:"
    sed 's/^/  /' "$function_log"
fi
exit "$failed"
