#!/usr/bin/env bash
# KMS throughput: Encrypt, Decrypt and GenerateDataKey operations per second
#   - in-process (Kms::call, no HTTP),
#   - over HTTP against `deadbolt kms serve` (the release binary),
#   - over HTTP against moto's KMS (`moto_server`, from PyPI),
# with the same client (examples/kms_bench.rs: SigV4-signed AWS JSON 1.1 over
# keep-alive connections, one per client thread) and the same concurrency.
#
#   bench/kms/run.sh
#   SECS=5 CLIENTS=1,2,8 bench/kms/run.sh
#
# Knobs: SECS [3] seconds per measurement; CLIENTS [1,4] concurrent clients;
# VENV [/tmp/venv-kms-bench] the virtualenv for moto; SKIP_MOTO=1 leaves moto
# out; SKIP_BUILD=1 uses existing binaries; OUT [bench/out/kms] where
# results.md (the table) and results.json go.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${SECS:-3}
CLIENTS=${CLIENTS:-1,4}
VENV=${VENV:-${TMPDIR:-/tmp}/venv-kms-bench}
OUT=${OUT:-bench/out/kms}
SKIP_MOTO=${SKIP_MOTO:-0}
DEADBOLT=target/release/deadbolt
BENCH=target/release/examples/kms_bench

say() { printf '==> %s\n' "$*" >&2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "cargo build --release (deadbolt and examples/kms_bench)"
    cargo build --release --locked --quiet --bin deadbolt --example kms_bench
fi
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-kms-bench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_file() { # FILE PID LOG
    for _ in $(seq 1 300); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; return 1; }
        sleep 0.1
    done
    cat "$3" >&2
    return 1
}

# The key every client signs with (moto accepts any).
KEY_ID=AKIABENCH00000000001
KEY_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
umask 077
printf '{"%s": {"secret": "%s", "principal": "arn:aws:iam::111122223333:root"}}\n' \
    "$KEY_ID" "$KEY_SECRET" > "$WORK/access-keys.json"

say "starting deadbolt kms serve"
DEADBOLT_KMS_ROOT_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
    "$DEADBOLT" kms serve --keystore "$WORK/keystore" --access-keys "$WORK/access-keys.json" \
    --addr 127.0.0.1:0 --port-file "$WORK/deadbolt.addr" 2> "$WORK/deadbolt.log" &
DEADBOLT_PID=$!
PIDS+=("$DEADBOLT_PID")
wait_for_file "$WORK/deadbolt.addr" "$DEADBOLT_PID" "$WORK/deadbolt.log"
ENDPOINTS=(--endpoint "deadbolt kms serve=http://$(cat "$WORK/deadbolt.addr")")

if [ "$SKIP_MOTO" != 1 ]; then
    if [ ! -x "$VENV/bin/moto_server" ]; then
        say "installing moto[server] into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/kms/requirements.txt
    fi
    MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    say "starting moto_server on 127.0.0.1:$MOTO_PORT ($("$VENV/bin/python" -c 'import moto; print("moto", moto.__version__)'))"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 300); do
        python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$MOTO_PORT" 2>/dev/null && break
        sleep 0.1
    done
    ENDPOINTS+=(--endpoint "moto_server=http://127.0.0.1:$MOTO_PORT")
fi

say "measuring: $SECS s per row, clients $CLIENTS, $(nproc) cores"
"$BENCH" --seconds "$SECS" --clients "$CLIENTS" --access-key "$KEY_ID:$KEY_SECRET" \
    "${ENDPOINTS[@]}" --json "$OUT/results.json" | tee "$OUT/results.md"

kill -TERM "$DEADBOLT_PID"
set +e
wait "$DEADBOLT_PID"
code=$?
set -e
[ "$code" -eq 0 ] || { echo "deadbolt kms serve exited $code on SIGTERM" >&2; cat "$WORK/deadbolt.log" >&2; exit 1; }
say "results in $OUT/results.md and $OUT/results.json"
