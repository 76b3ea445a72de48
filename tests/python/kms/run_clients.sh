#!/usr/bin/env bash
# Real clients against `deadbolt kms serve` in local-use mode (--allow-unsigned,
# with one configured access key that is still verified): the AWS CLI (awscli
# from PyPI) and the AWS Encryption SDK CLI (aws-encryption-sdk-cli from PyPI),
# pointed at the server with AWS_ENDPOINT_URL_KMS (test_clients.py), then the
# replay of AWS's recorded responses (test_recorded.py). Stops the server with
# SIGTERM and checks it exited 0.
#
#   bash tests/python/kms/run_clients.sh
#
# VENV picks the virtualenv (created when missing; pinned packages from PyPI);
# SKIP_BUILD=1 uses the existing target/release/deadbolt; DEADBOLT overrides it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

VENV=${VENV:-${TMPDIR:-/tmp}/venv-kms-clients}
DEADBOLT=${DEADBOLT:-target/release/deadbolt}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --locked --quiet
fi
[ -x "$DEADBOLT" ] || { echo "error: $DEADBOLT not found (build with cargo build --release)" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/kms/requirements-clients.txt

WORK=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-kms-clients.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

rand() { "$VENV/bin/python" -c "import secrets, sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"; }
ADMIN_KEY="AKIA$(rand 8 | tr '[:lower:]' '[:upper:]')"
ADMIN_SECRET=$(rand 20)
umask 077
cat > "$WORK/access-keys.json" <<JSON
{"$ADMIN_KEY": {"secret": "$ADMIN_SECRET", "principal": "arn:aws:iam::111122223333:root"}}
JSON
DEADBOLT_KMS_ROOT_KEY=$(rand 32)
export DEADBOLT_KMS_ROOT_KEY

"$DEADBOLT" kms serve --keystore "$WORK/keystore" --access-keys "$WORK/access-keys.json" --allow-unsigned \
    --addr 127.0.0.1:0 --port-file "$WORK/port" 2> "$WORK/server.log" &
SERVER_PID=$!
unset DEADBOLT_KMS_ROOT_KEY

for _ in $(seq 1 300); do
    [ -s "$WORK/port" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "error: deadbolt kms serve exited before listening:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
[ -s "$WORK/port" ] || { echo "error: no port file after 30 s" >&2; cat "$WORK/server.log" >&2; exit 1; }
ADDR=$(cat "$WORK/port")
echo "deadbolt kms serve listening on http://$ADDR (pid $SERVER_PID), local-use mode"

set +e
export DEADBOLT_KMS_ENDPOINT="http://$ADDR" DEADBOLT_KMS_ADMIN_KEY="$ADMIN_KEY" DEADBOLT_KMS_ADMIN_SECRET="$ADMIN_SECRET"
echo "== aws cli, aws-encryption-cli, boto3 wire behaviour"
"$VENV/bin/python" tests/python/kms/test_clients.py
clients=$?
echo "== AWS's recorded responses, replayed"
"$VENV/bin/python" tests/python/kms/test_recorded.py
recorded=$?
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
server=$?
set -e
SERVER_PID=
if [ "$server" -ne 0 ]; then
    echo "error: deadbolt kms serve exited $server after SIGTERM (expected 0):" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
if [ "$clients" -ne 0 ] || [ "$recorded" -ne 0 ]; then
    echo "server log:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
echo "deadbolt kms serve stopped cleanly on SIGTERM (exit 0)"
