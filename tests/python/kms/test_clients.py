"""Real clients against `deadbolt kms serve`: the AWS CLI (awscli, v1) and the
AWS Encryption SDK CLI (aws-encryption-sdk-cli: envelope encryption through
GenerateDataKey/Encrypt/Decrypt), both pointed at the server with
AWS_ENDPOINT_URL_KMS and the local-use credentials AWS_ACCESS_KEY_ID=test, plus
boto3 for the wire behaviour only a client can show (regions from the
credential scope, DryRun, key material ids).

Run by tests/python/kms/run_clients.sh, which starts the server in local-use
mode (--allow-unsigned) with one configured access key and passes
DEADBOLT_KMS_ENDPOINT, DEADBOLT_KMS_ADMIN_KEY and DEADBOLT_KMS_ADMIN_SECRET.
Plain unittest; prints "N passed, N failed".
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("DEADBOLT_KMS_ENDPOINT", "")
ADMIN = (os.environ.get("DEADBOLT_KMS_ADMIN_KEY", ""), os.environ.get("DEADBOLT_KMS_ADMIN_SECRET", ""))
BIN = os.path.dirname(sys.executable)
ACCOUNT = "111122223333"


def env(region="us-east-1", key="test", secret="test"):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update({
        "AWS_ENDPOINT_URL_KMS": ENDPOINT,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
    })
    return e


def aws(*args, region="us-east-1", key="test", secret="test", check=True):
    """The AWS CLI; its JSON output parsed (None when it printed nothing)."""
    p = subprocess.run([os.path.join(BIN, "aws"), "kms", *args, "--output", "json"], env=env(region, key, secret),
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"aws kms {' '.join(args)} exited {p.returncode}: {p.stderr}")
    if not check:
        return p
    return json.loads(p.stdout) if p.stdout.strip() else None


def esdk(*args, region="us-east-1"):
    return subprocess.run([os.path.join(BIN, "aws-encryption-cli"), *args], env=env(region), capture_output=True,
                          text=True, timeout=120)


def boto(region="us-east-1", key="test", secret="test"):
    return boto3.client("kms", endpoint_url=ENDPOINT, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


class AwsCli(unittest.TestCase):
    def test_key_lifecycle(self):
        meta = aws("create-key", "--description", "aws cli", "--tags", "TagKey=team,TagValue=ci")["KeyMetadata"]
        arn = meta["Arn"]
        self.assertEqual(arn, f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{meta['KeyId']}")
        self.assertEqual(len(meta["CurrentKeyMaterialId"]), 64)
        alias = "alias/cli-" + uuid.uuid4().hex[:10]
        aws("create-alias", "--alias-name", alias, "--target-key-id", meta["KeyId"])
        listed = aws("list-aliases", "--key-id", meta["KeyId"])["Aliases"]
        self.assertEqual([a["AliasName"] for a in listed], [alias])
        out = aws("encrypt", "--key-id", alias, "--plaintext", "aGVsbG8=", "--encryption-context", "app=cli")
        self.assertEqual(out["KeyId"], arn)
        with tempfile.TemporaryDirectory() as d:
            blob_file = os.path.join(d, "blob.bin")
            with open(blob_file, "wb") as f:
                f.write(base64.b64decode(out["CiphertextBlob"]))
            back = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}", "--encryption-context", "app=cli")
            # The AWS CLI v1 sends --plaintext text as it is (then base64s it).
            self.assertEqual(base64.b64decode(back["Plaintext"]), b"aGVsbG8=")
            self.assertEqual(back["KeyId"], arn)
            self.assertEqual(back["KeyMaterialId"], meta["CurrentKeyMaterialId"])
            bad = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}", check=False)
            self.assertEqual(bad.returncode, 255, bad.stderr)
            self.assertIn("(InvalidCiphertextException)", bad.stderr)
        aws("enable-key-rotation", "--key-id", meta["KeyId"], "--rotation-period-in-days", "90")
        rot = aws("rotate-key-on-demand", "--key-id", meta["KeyId"])
        self.assertEqual(rot["KeyId"], arn)
        status = aws("get-key-rotation-status", "--key-id", meta["KeyId"])
        self.assertEqual((status["KeyRotationEnabled"], status["RotationPeriodInDays"]), (True, 90))
        self.assertNotIn("OnDemandRotationStartDate", status)
        self.assertEqual(len(aws("list-key-rotations", "--key-id", meta["KeyId"])["Rotations"]), 1)
        aws("disable-key", "--key-id", meta["KeyId"])
        p = aws("encrypt", "--key-id", alias, "--plaintext", "aGk=", check=False)
        self.assertIn("(DisabledException)", p.stderr)
        self.assertIn(f"{arn} is disabled.", p.stderr)
        aws("enable-key", "--key-id", meta["KeyId"])
        sched = aws("schedule-key-deletion", "--key-id", meta["KeyId"], "--pending-window-in-days", "7")
        self.assertEqual(sched["KeyState"], "PendingDeletion")
        aws("cancel-key-deletion", "--key-id", meta["KeyId"])
        self.assertEqual(aws("describe-key", "--key-id", alias)["KeyMetadata"]["KeyState"], "Disabled")

    def test_pagination_and_errors(self):
        for _ in range(3):
            aws("create-key", "--description", "page")
        # The CLI follows NextMarker itself; --page-size makes it page.
        keys = aws("list-keys", "--page-size", "1")["Keys"]
        self.assertGreaterEqual(len(keys), 3)
        p = aws("describe-key", "--key-id", "alias/does-not-exist", check=False)
        self.assertIn("(NotFoundException)", p.stderr)
        self.assertIn(f"Alias arn:aws:kms:us-east-1:{ACCOUNT}:alias/does-not-exist is not found.", p.stderr)
        p = aws("describe-key", "--key-id", "fake-key-id", check=False)
        self.assertIn("Invalid keyId 'fake-key-id'", p.stderr)

    def test_regions_from_the_credential_scope(self):
        eu = aws("create-key", "--description", "eu", region="eu-west-1")["KeyMetadata"]
        self.assertTrue(eu["Arn"].startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/"))
        p = aws("describe-key", "--key-id", eu["KeyId"], region="us-east-1", check=False)
        self.assertIn("(NotFoundException)", p.stderr)
        p = aws("describe-key", "--key-id", eu["Arn"], region="us-east-1", check=False)
        self.assertIn("Invalid arn eu-west-1", p.stderr)
        self.assertEqual(aws("describe-key", "--key-id", eu["Arn"], region="eu-west-1")["KeyMetadata"]["KeyId"],
                         eu["KeyId"])
        p = aws("list-keys", region="xx-fake-9", check=False)
        self.assertIn("(InvalidSignatureException)", p.stderr)
        self.assertIn("Credential should be scoped to a valid region, not 'xx-fake-9'.", p.stderr)

    def test_configured_keys_are_still_verified(self):
        self.assertIsNotNone(aws("list-keys", key=ADMIN[0], secret=ADMIN[1]))
        p = aws("list-keys", key=ADMIN[0], secret=ADMIN[1] + "x", check=False)
        self.assertIn("(InvalidSignatureException)", p.stderr)


class EncryptionSdkCli(unittest.TestCase):
    """Envelope encryption with two wrapping keys: decrypt with either; a
    disabled key cannot decrypt."""

    def test_round_trip_with_two_wrapping_keys(self):
        k1 = aws("create-key", "--description", "esdk 1")["KeyMetadata"]["Arn"]
        k2 = aws("create-key", "--description", "esdk 2")["KeyMetadata"]["Arn"]
        with tempfile.TemporaryDirectory() as d:
            plain, enc = os.path.join(d, "data.csv"), os.path.join(d, "data.csv.enc")
            data = b"id,card\n" + b"".join(b"%d,4111111111111111\n" % i for i in range(5000))
            with open(plain, "wb") as f:
                f.write(data)
            p = esdk("--encrypt", "--input", plain, "--output", enc, "--wrapping-keys", f"key={k1}", f"key={k2}",
                     "--encryption-context", "purpose=ci", "dataset=cards", "--metadata-output", os.devnull)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(enc, "rb") as f:
                blob = f.read()
            self.assertNotIn(b"4111111111111111", blob)
            for key in (k1, k2):
                out = os.path.join(d, f"out-{key[-6:]}")
                p = esdk("--decrypt", "--input", enc, "--output", out, "--wrapping-keys", f"key={key}",
                         "--encryption-context", "purpose=ci", "--metadata-output", os.devnull)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), data)
            # A required context pair the message does not have: skipped, no output.
            p = esdk("--decrypt", "--input", enc, "--output", os.path.join(d, "wrong"), "--wrapping-keys",
                     f"key={k1}", "--encryption-context", "purpose=prod", "--metadata-output", os.devnull)
            self.assertIn("did not match", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "wrong")))
            # A disabled wrapping key cannot decrypt; the other still can.
            aws("disable-key", "--key-id", k1)
            p = esdk("--decrypt", "--input", enc, "--output", os.path.join(d, "disabled"), "--wrapping-keys",
                     f"key={k1}", "--metadata-output", os.devnull)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("Unable to decrypt any data key", p.stderr + p.stdout)
            self.assertFalse(os.path.exists(os.path.join(d, "disabled")))
            p = esdk("--decrypt", "--input", enc, "--output", os.path.join(d, "ok2"), "--wrapping-keys",
                     f"key={k2}", "--metadata-output", os.devnull)
            self.assertEqual(p.returncode, 0, p.stderr)


class Boto3Wire(unittest.TestCase):
    def test_dry_run_does_nothing(self):
        c = boto()
        key = c.create_key()["KeyMetadata"]["KeyId"]
        for fn, kw in [(c.encrypt, {"KeyId": key, "Plaintext": b"x"}),
                       (c.generate_data_key, {"KeyId": key, "KeySpec": "AES_256"}),
                       (c.create_grant, {"KeyId": key, "GranteePrincipal": ACCOUNT, "Operations": ["Decrypt"]})]:
            with self.assertRaises(ClientError) as cm:
                fn(DryRun=True, **kw)
            err = cm.exception.response["Error"]
            self.assertEqual((err["Code"], err["Message"]),
                             ("DryRunOperationException", "The request would have succeeded, but the DryRun option is set."))
        self.assertEqual(c.list_grants(KeyId=key)["Grants"], [])
        g = c.create_grant(KeyId=key, GranteePrincipal=ACCOUNT, Operations=["Decrypt"])["GrantId"]
        with self.assertRaises(ClientError):
            c.revoke_grant(KeyId=key, GrantId=g, DryRun=True)
        self.assertEqual(len(c.list_grants(KeyId=key)["Grants"]), 1, "a dry RevokeGrant revokes nothing")

    def test_regional_clients_see_their_own_keys(self):
        a, b = boto("ap-southeast-2"), boto("sa-east-1")
        ka = a.create_key()["KeyMetadata"]["KeyId"]
        ids_b = [k["KeyId"] for k in b.list_keys()["Keys"]]
        self.assertNotIn(ka, ids_b)
        alias = "alias/regional-" + uuid.uuid4().hex[:8]
        a.create_alias(AliasName=alias, TargetKeyId=ka)
        kb = b.create_key()["KeyMetadata"]["KeyId"]
        b.create_alias(AliasName=alias, TargetKeyId=kb)
        self.assertEqual(a.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"], ka)
        self.assertEqual(b.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"], kb)


def main():
    if not ENDPOINT:
        print("set DEADBOLT_KMS_ENDPOINT (tests/python/kms/run_clients.sh does)")
        return 2
    suite = unittest.TestSuite()
    for case in (AwsCli, EncryptionSdkCli, Boto3Wire):
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
