"""Replays, against `deadbolt kms serve`, the requests behind the responses that
LocalStack's test suite recorded against real AWS (fixtures/kms/aws-recorded/
responses.json, made by extract_recorded.py), and compares what deadbolt
answers with what AWS answered: error code, message and HTTP status, or the
members and fixed values of a success.

    DEADBOLT_KMS_ENDPOINT=http://127.0.0.1:PORT DEADBOLT_KMS_ADMIN_KEY=... \
    DEADBOLT_KMS_ADMIN_SECRET=... python test_recorded.py

Prints one line per case, "M of N recorded responses match", and exits 1 when
a case differs that is not in KNOWN_DIFFERENCES (each with its reason), or when
a known difference has started to match (so the list stays true).
"""

import base64
import json
import os
import re
import sys
import uuid

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "..", "fixtures", "kms", "aws-recorded", "responses.json")
ENDPOINT = os.environ.get("DEADBOLT_KMS_ENDPOINT", "")
CREDS = (os.environ.get("DEADBOLT_KMS_ADMIN_KEY", "test"), os.environ.get("DEADBOLT_KMS_ADMIN_SECRET", "test"))
REGION, SECONDARY = "us-east-1", "us-west-2"

KNOWN_DIFFERENCES = {
    "data-key-pair-dry-run": "GenerateDataKeyPair is not supported (no asymmetric key pairs): "
                             "UnsupportedOperationException, not a DryRun answer claiming it would succeed",
    "data-key-pair-wp-dry-run": "GenerateDataKeyPairWithoutPlaintext is not supported, as above",
}


def client(region=REGION, validate=True):
    return boto3.client("kms", endpoint_url=ENDPOINT, region_name=region,
                        aws_access_key_id=CREDS[0], aws_secret_access_key=CREDS[1],
                        config=Config(retries={"max_attempts": 1}, parameter_validation=validate))


K = client()


def new_key(c=K, **kw):
    return c.create_key(Description=kw.pop("Description", "test key 123"), **kw)["KeyMetadata"]


def tags(**kv):
    return [{"TagKey": k, "TagValue": v} for k, v in kv.items()]


def fails(fn, **kw):
    try:
        out = fn(**kw)
    except ClientError as e:
        return ("error", e.response["Error"]["Code"], e.response["Error"].get("Message", ""),
                e.response["ResponseMetadata"]["HTTPStatusCode"])
    return ("response", out)


def ok(fn, **kw):
    out = dict(fn(**kw))
    out.pop("ResponseMetadata", None)
    return ("response", out)


# --- the cases ---------------------------------------------------------------

def case_generate_random(n):
    raw = client(validate=False)
    kw = {} if n is None else {"NumberOfBytes": n}
    return fails(raw.generate_random, **kw)


def other_region():
    meta = new_key(client(SECONDARY))
    return meta


def run_case(name):
    if name == "generate-random-missing":
        return case_generate_random(None)
    if name == "generate-random-0":
        return case_generate_random(0)
    if name == "generate-random-1025":
        return case_generate_random(1025)
    if name == "other-region-by-id":
        return fails(K.describe_key, KeyId=other_region()["KeyId"])
    if name == "other-region-by-arn":
        return fails(K.describe_key, KeyId=other_region()["Arn"])
    if name == "own-region-by-id":
        return ok(client(SECONDARY).describe_key, KeyId=other_region()["KeyId"])
    if name == "own-region-by-arn":
        return ok(client(SECONDARY).describe_key, KeyId=other_region()["Arn"])
    if name == "nonexistent-by-id":
        return fails(K.describe_key, KeyId="134f2428-cec1-4b25-a1ae-9048164dba47")
    if name == "nonexistent-by-arn":
        arn = new_key()["Arn"]
        return fails(K.describe_key, KeyId=re.sub(r"key/.*", "key/134f2428-cec1-4b25-a1ae-9048164dba47", arn))
    if name == "nonexistent-mrk":
        return fails(K.describe_key, KeyId="mrk-d3b95762d3b95762d3b95762d3b95762")
    if name == "invalid-key-id":
        return fails(K.describe_key, KeyId="fake-key-id")
    if name == "invalid-key-id-no-dashes":
        return fails(K.describe_key, KeyId="134f2428cec14b25a1ae9048164dba47")
    if name == "invalid-mrk-id":
        return fails(K.describe_key, KeyId="mrk-fake-key-id")
    if name == "alias-without-prefix":
        return fails(K.create_alias, AliasName=uuid.uuid4().hex[:8], TargetKeyId=new_key()["KeyId"])
    if name == "hmac-key-without-usage":
        return fails(K.create_key, KeySpec="HMAC_256")
    if name == "invalid-key-spec":
        return fails(client(validate=False).create_key, KeySpec="HMAC_random", KeyUsage="GENERATE_VERIFY_MAC")
    if name == "invalid-key-usage":
        return fails(client(validate=False).create_key, KeySpec="HMAC_256", KeyUsage="RANDOM")
    if name == "generate-mac-invalid-key-id":
        return fails(K.generate_mac, KeyId="key_id", Message=b"some important message", MacAlgorithm="HMAC_SHA_256")
    if name == "verify-mac-invalid-key-id":
        return fails(K.verify_mac, KeyId="key_id", Message=b"some important message", MacAlgorithm="HMAC_SHA_256",
                     Mac=b"mac")
    if name == "generate-mac-on-encrypt-key":
        return fails(K.generate_mac, KeyId=new_key()["KeyId"], Message=b"some important message",
                     MacAlgorithm="HMAC_SHA_224")
    if name == "verify-on-encrypt-key":
        return fails(K.verify, MessageType="RAW", Signature=b"random text", Message=b"test message",
                     KeyId=new_key()["KeyId"], SigningAlgorithm="ECDSA_SHA_256")
    if name == "decrypt-naming-another-key":
        blob = K.encrypt(Plaintext=b"test message 123!@#", KeyId=new_key()["KeyId"])["CiphertextBlob"]
        return fails(K.decrypt, CiphertextBlob=blob, KeyId=new_key()["KeyId"])
    if name == "plaintext-too-large":
        return fails(K.encrypt, KeyId=new_key()["KeyId"], Plaintext=base64.b64encode(b"test message 123 !%$@ 1234567890" * 100))
    ctx = {"context-key": "context-value"}
    msg = b"test message 123 !%$@ 1234567890"
    if name == "encrypt-with-context":
        return ok(K.encrypt, KeyId=new_key()["KeyId"], Plaintext=msg, EncryptionContext=ctx)
    if name in ("decrypt-with-context", "decrypt-without-context", "decrypt-truncated-ciphertext"):
        key = new_key()["KeyId"]
        blob = K.encrypt(KeyId=key, Plaintext=msg, EncryptionContext=ctx)["CiphertextBlob"]
        if name == "decrypt-with-context":
            return ok(K.decrypt, KeyId=key, CiphertextBlob=blob, EncryptionContext=ctx)
        if name == "decrypt-without-context":
            return fails(K.decrypt, KeyId=key, CiphertextBlob=blob)
        return fails(K.decrypt, KeyId=key, CiphertextBlob=blob[37:], EncryptionContext=ctx)
    if name in ("data-key-without-context", "data-key-wp-without-context"):
        key = new_key()["KeyId"]
        fn = K.generate_data_key if name == "data-key-without-context" else K.generate_data_key_without_plaintext
        blob = fn(KeyId=key, KeySpec="AES_256", EncryptionContext=ctx)["CiphertextBlob"]
        return fails(K.decrypt, CiphertextBlob=blob, KeyId=key)
    if name == "import-parameters-for-aws-kms-key":
        return fails(K.get_parameters_for_import, KeyId=new_key()["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                     WrappingKeySpec="RSA_4096")
    if name == "derive-shared-secret-on-encrypt-key":
        return fails(K.derive_shared_secret, KeyId=new_key()["KeyId"], KeyAgreementAlgorithm="ECDH",
                     PublicKey=b"\x30" * 91)
    if name == "duplicate-tag-keys":
        return fails(K.tag_resource, KeyId=new_key()["KeyId"],
                     Tags=[{"TagKey": "tag1", "TagValue": "value1"}, {"TagKey": "tag1", "TagValue": "another-value1"}])
    if name == "too-many-tags":
        return fails(K.create_key, Description="test key 123", KeyUsage="ENCRYPT_DECRYPT",
                     Tags=tags(**{f"key{i}": f"value{i}" for i in range(51)}))
    if name == "tag-resource-aws-prefix":
        return fails(K.tag_resource, KeyId=new_key()["KeyId"], Tags=tags(**{"aws:key1": "value1"}))
    if name == "tag-value-too-long":
        return fails(K.create_key, Description="test key 123", KeyUsage="ENCRYPT_DECRYPT", Tags=tags(tag1="v" * 257))
    if name in ("create-key-aws-prefix", "create-key-AWS-prefix", "tag-key-too-long"):
        k = {"create-key-aws-prefix": "aws:key1", "create-key-AWS-prefix": "AWS:key1", "tag-key-too-long": "a" * 129}[name]
        return fails(K.create_key, Description="test key 123", KeyUsage="ENCRYPT_DECRYPT", Tags=tags(**{k: "value1"}))
    if name == "rotate-disabled-key":
        key = new_key()["KeyId"]
        K.disable_key(KeyId=key)
        return fails(K.rotate_key_on_demand, KeyId=key)
    if name == "rotate-missing-key":
        return fails(K.rotate_key_on_demand, KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
    if name == "decrypt-extended-ciphertext":
        key = new_key()["KeyId"]
        blob = K.encrypt(KeyId=key, Plaintext=base64.b64encode(msg))["CiphertextBlob"]
        K.rotate_key_on_demand(KeyId=key)
        assert K.decrypt(KeyId=key, CiphertextBlob=blob)["Plaintext"] == base64.b64encode(msg)
        return fails(K.decrypt, KeyId=key, CiphertextBlob=blob + b"bad_data")
    if name == "rotation-limit":
        key = new_key()["KeyId"]
        for _ in range(10):
            K.rotate_key_on_demand(KeyId=key)
            assert "OnDemandRotationStartDate" not in K.get_key_rotation_status(KeyId=key)
        return fails(K.rotate_key_on_demand, KeyId=key)
    if name == "re-encrypt-naming-another-source-key":
        blob = K.encrypt(KeyId=new_key()["KeyId"], Plaintext=msg)["CiphertextBlob"]
        other = new_key()["KeyId"]
        return fails(K.re_encrypt, SourceKeyId=other, DestinationKeyId=other, CiphertextBlob=blob,
                     SourceEncryptionAlgorithm="SYMMETRIC_DEFAULT", DestinationEncryptionAlgorithm="SYMMETRIC_DEFAULT")
    if name == "data-key-pair-dry-run":
        return fails(K.generate_data_key_pair, KeyId=new_key()["KeyId"], KeyPairSpec="RSA_2048", DryRun=True)
    if name == "data-key-pair-wp-dry-run":
        return fails(K.generate_data_key_pair_without_plaintext, KeyId=new_key()["KeyId"], KeyPairSpec="RSA_2048",
                     DryRun=True)
    if name == "create-key":
        return ("response", K.describe_key(KeyId=new_key(KeyUsage="ENCRYPT_DECRYPT")["KeyId"])["KeyMetadata"])
    if name == "not-multi-region":
        return ("response", new_key(Description="test non multi region key"))
    if name in ("generate-data-key", "generate-data-key-wp"):
        fn = K.generate_data_key if name == "generate-data-key" else K.generate_data_key_without_plaintext
        return ok(fn, KeyId=new_key()["KeyId"], KeySpec="AES_256")
    if name == "re-encrypt":
        src, dst = new_key()["KeyId"], new_key()["KeyId"]
        blob = K.encrypt(KeyId=src, Plaintext=msg)["CiphertextBlob"]
        return ok(K.re_encrypt, SourceKeyId=src, DestinationKeyId=dst, CiphertextBlob=blob,
                  SourceEncryptionAlgorithm="SYMMETRIC_DEFAULT", DestinationEncryptionAlgorithm="SYMMETRIC_DEFAULT")
    if name in ("rotation-status-90", "rotation-status-180"):
        key = new_key()["KeyId"]
        K.enable_key_rotation(KeyId=key, RotationPeriodInDays=int(name.rsplit("-", 1)[1]))
        return ok(K.get_key_rotation_status, KeyId=key)
    if name in ("rotate-on-demand", "rotate-on-demand-arn"):
        meta = new_key()
        out = ok(K.rotate_key_on_demand, KeyId=meta["KeyId"])
        assert out[1]["KeyId"] == meta["Arn"], out
        return out
    if name in ("status-after-on-demand-auto-off", "status-after-on-demand-auto-on"):
        key = new_key()["KeyId"]
        if name.endswith("on"):
            K.enable_key_rotation(KeyId=key)
        K.rotate_key_on_demand(KeyId=key)
        return ok(K.get_key_rotation_status, KeyId=key)
    if name == "describe-after-rotation":
        key = new_key(Description="test-key")["KeyId"]
        before = K.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
        K.rotate_key_on_demand(KeyId=key)
        after = K.describe_key(KeyId=key)
        assert after["KeyMetadata"]["CurrentKeyMaterialId"] != before
        return ok(lambda: after)
    if name in ("tags-listed", "tags-all-untagged"):
        key = new_key(KeyUsage="ENCRYPT_DECRYPT")["KeyId"]
        K.tag_resource(KeyId=key, Tags=tags(tag1="value1", tag2="value2"))
        if name == "tags-all-untagged":
            K.untag_resource(KeyId=key, TagKeys=["tag1", "tag2"])
        return ("response", K.list_resource_tags(KeyId=key)["Tags"])
    if name == "tags-partly-untagged":
        key = new_key(Tags=tags(tag1="value1", tag2="value2", tag3="value3"))["KeyId"]
        K.untag_resource(KeyId=key, TagKeys=["tag2"])
        return ("response", K.list_resource_tags(KeyId=key)["Tags"])
    if name == "tags-updated":
        key = new_key(Tags=tags(tag1="value1", tag2="value2", tag3="value3"))["KeyId"]
        K.tag_resource(KeyId=key, Tags=tags(tag4="value4", tag2="updated_value2", tag5="value5"))
        return ("response", K.list_resource_tags(KeyId=key)["Tags"])
    if name in ("random-1", "random-1024"):
        return ("response", len(K.generate_random(NumberOfBytes=int(name.split("-")[1]))["Plaintext"]))
    raise KeyError(name)


# --- comparison --------------------------------------------------------------

KEY_ARN = re.compile(r"arn:aws:kms:[a-z0-9-]+:\d{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})")


def norm(s):
    # The secondary region first: its key ARNs keep their shape, as recorded.
    s = KEY_ARN.sub("<KEYARN>", s.replace(SECONDARY, "<secondary-region>"))
    return s.replace("111122223333", "<ACCOUNT>")


PLACEHOLDER = re.compile(r"<(?!KEYARN>|ACCOUNT>|secondary-region>)[a-z-]+(:\d+)?>")


def matches_template(recorded, ours):
    """A recorded string with placeholders (<key-id:1>) against ours, normalised."""
    parts = PLACEHOLDER.split(recorded)
    pattern = ".+".join(re.escape(p) for p in parts[::2])
    return re.fullmatch(pattern, norm(ours)) is not None


def output_members():
    """Every output member of the current KMS API model, by shape: newer than
    most recordings (members AWS added since, such as KeyMaterialId)."""
    model = botocore.session.get_session().get_service_model("kms")
    names = set()
    for op in model.operation_names:
        out = model.operation_model(op).output_shape
        if out is not None:
            names.update(out.members)
    names.update(model.shape_for("KeyMetadata").members)
    return names


NEWER = output_members()


def same_shape(recorded, ours, path, notes):
    """Differences between a recorded success and ours (empty: they match)."""
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected an object, got {ours!r}"]
        diffs = []
        for k, v in recorded.items():
            if k not in ours:
                diffs.append(f"{path}.{k}: missing")
            else:
                diffs += same_shape(v, ours[k], f"{path}.{k}", notes)
        for k in ours:
            if k not in recorded:
                if k in NEWER:
                    notes.append(f"{path}.{k} (in the current API model, newer than the recording)")
                else:
                    diffs.append(f"{path}.{k}: not in the recorded response")
        return diffs
    if isinstance(recorded, list):
        if not isinstance(ours, list) or len(ours) != len(recorded):
            return [f"{path}: expected {recorded!r}, got {ours!r}"]
        return [d for i, (r, o) in enumerate(zip(recorded, ours)) for d in same_shape(r, o, f"{path}[{i}]", notes)]
    if recorded == "datetime":
        return [] if hasattr(ours, "timestamp") else [f"{path}: expected a timestamp, got {ours!r}"]
    if recorded in ("ciphertext-blob", "plaintext"):
        return [] if isinstance(ours, bytes) and ours else [f"{path}: expected bytes, got {ours!r}"]
    if isinstance(recorded, str) and re.fullmatch(r"<[a-z-]+(:\d+)?>", recorded):
        return [] if isinstance(ours, str) and ours else [f"{path}: expected a value, got {ours!r}"]
    if isinstance(recorded, str) and isinstance(ours, str):
        ok_ = matches_template(recorded, ours)
        return [] if ok_ else [f"{path}: expected {recorded!r}, got {norm(ours)!r}"]
    return [] if recorded == ours else [f"{path}: expected {recorded!r}, got {ours!r}"]


def compare(case, got):
    notes = []
    if "error" in case:
        want = case["error"]
        if got[0] != "error":
            return [f"expected {want['Code']}, got a success: {got[1]!r}"], notes
        _, code, message, status = got
        diffs = []
        if code != want["Code"]:
            diffs.append(f"code: expected {want['Code']}, got {code}")
        if norm(message) != want["Message"]:
            diffs.append(f"message: expected {want['Message']!r}, got {norm(message)!r}")
        if status != want["HTTPStatusCode"]:
            diffs.append(f"status: expected {want['HTTPStatusCode']}, got {status}")
        return diffs, notes
    if got[0] != "response":
        return [f"expected a success, got {got[1]} {got[2]!r}"], notes
    return same_shape(case["response"], got[1], "$", notes), notes


def main():
    if not ENDPOINT:
        print("set DEADBOLT_KMS_ENDPOINT (tests/python/kms/run_clients.sh does)")
        return 2
    cases = json.load(open(FIXTURE))["cases"]
    matched, unexpected = 0, []
    for case in cases:
        name = case["name"]
        try:
            diffs, notes = compare(case, run_case(name))
        except Exception as e:  # a crash is a difference, reported as one
            diffs, notes = [f"raised {type(e).__name__}: {e}"], []
        kind = "error" if "error" in case else "response"
        if not diffs:
            matched += 1
            extra = f" (+ {', '.join(notes)})" if notes else ""
            print(f"match    {name} [{kind}]{extra}")
            if name in KNOWN_DIFFERENCES:
                unexpected.append(f"{name}: listed as a known difference but now matches")
        else:
            tag = "known" if name in KNOWN_DIFFERENCES else "DIFFERS"
            print(f"{tag:8} {name} [{kind}] {'; '.join(diffs)}")
            if name in KNOWN_DIFFERENCES:
                print(f"         why: {KNOWN_DIFFERENCES[name]}")
            else:
                unexpected.append(f"{name}: {'; '.join(diffs)}")
    errors = sum("error" in c for c in cases)
    print(f"{matched} of {len(cases)} recorded responses match ({errors} errors, {len(cases) - errors} successes; "
          f"{len(KNOWN_DIFFERENCES)} known differences)")
    known = sum(1 for n in KNOWN_DIFFERENCES if n in {c["name"] for c in cases}) - sum(
        1 for u in unexpected if "now matches" in u)
    print(f"{matched} passed, {len(unexpected)} failed, {known} skipped")
    for u in unexpected:
        print("unexpected:", u)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
