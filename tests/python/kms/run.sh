#!/usr/bin/env bash
# boto3 against `deadbolt kms serve`: builds the release binary, starts the
# endpoint on a free loopback port with a fresh keystore, a generated root key
# and two generated access keys (the account root, and an IAM user), runs
# test_kms_boto3.py, then stops the server with SIGTERM and checks it exited 0.
#
#   bash tests/python/kms/run.sh
#
# VENV picks the virtualenv (created when missing; boto3 from PyPI);
# SKIP_BUILD=1 uses the existing target/release/deadbolt; DEADBOLT overrides it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

VENV=${VENV:-${TMPDIR:-/tmp}/venv-kms-boto3}
DEADBOLT=${DEADBOLT:-target/release/deadbolt}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --locked --quiet
fi
[ -x "$DEADBOLT" ] || { echo "error: $DEADBOLT not found (build with cargo build --release)" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/kms/requirements.txt

WORK=$(mktemp -d "${TMPDIR:-/tmp}/deadbolt-kms-boto3.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

rand() { "$VENV/bin/python" -c "import secrets, sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"; }
upper() { tr '[:lower:]' '[:upper:]'; }
ACCOUNT=111122223333
ADMIN_KEY="AKIA$(rand 8 | upper)"
USER_KEY="AKIA$(rand 8 | upper)"
ADMIN_SECRET=$(rand 20)
USER_SECRET=$(rand 20)
USER_ARN="arn:aws:iam::$ACCOUNT:user/boto3-suite"
umask 077
cat > "$WORK/access-keys.json" <<JSON
{
  "$ADMIN_KEY": {"secret": "$ADMIN_SECRET", "principal": "arn:aws:iam::$ACCOUNT:root"},
  "$USER_KEY": {"secret": "$USER_SECRET", "principal": "$USER_ARN"}
}
JSON
DEADBOLT_KMS_ROOT_KEY=$(rand 32)
export DEADBOLT_KMS_ROOT_KEY

"$DEADBOLT" kms serve --keystore "$WORK/keystore" --access-keys "$WORK/access-keys.json" \
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
grep -q "listening on http://$ADDR" "$WORK/server.log" || {
    sleep 1
    grep -q "listening on http://$ADDR" "$WORK/server.log" || {
        echo "error: the server did not print 'listening on http://$ADDR':" >&2
        cat "$WORK/server.log" >&2
        exit 1
    }
}
echo "deadbolt kms serve listening on http://$ADDR (pid $SERVER_PID)"

set +e
DEADBOLT_KMS_ENDPOINT="http://$ADDR" \
DEADBOLT_KMS_ADMIN_KEY="$ADMIN_KEY" DEADBOLT_KMS_ADMIN_SECRET="$ADMIN_SECRET" \
DEADBOLT_KMS_USER_KEY="$USER_KEY" DEADBOLT_KMS_USER_SECRET="$USER_SECRET" \
DEADBOLT_KMS_USER_ARN="$USER_ARN" \
    "$VENV/bin/python" tests/python/kms/test_kms_boto3.py
suite=$?

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
grep -q "^stopped" "$WORK/server.log" || { echo "error: no clean shutdown in the server log" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "deadbolt kms serve stopped cleanly on SIGTERM (exit 0)"
if [ "$suite" -ne 0 ]; then
    echo "server log:" >&2
    cat "$WORK/server.log" >&2
fi
exit "$suite"
