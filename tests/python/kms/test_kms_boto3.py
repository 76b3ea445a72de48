"""deadbolt's KMS endpoint driven by boto3, as an application would use AWS KMS.

Run by tests/python/kms/run.sh, which starts `deadbolt kms serve` and passes:

  DEADBOLT_KMS_ENDPOINT     http://127.0.0.1:PORT
  DEADBOLT_KMS_ADMIN_KEY    access key id of the account root (admin)
  DEADBOLT_KMS_ADMIN_SECRET its secret
  DEADBOLT_KMS_USER_KEY     access key id of a second principal (an IAM user)
  DEADBOLT_KMS_USER_SECRET  its secret
  DEADBOLT_KMS_USER_ARN     that user's ARN (arn:aws:iam::ACCOUNT:user/NAME)

Plain unittest; prints a final "N passed, N failed" line and exits 1 on failure.
"""

import json
import os
import sys
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("DEADBOLT_KMS_ENDPOINT", "")
ADMIN = (os.environ.get("DEADBOLT_KMS_ADMIN_KEY", ""), os.environ.get("DEADBOLT_KMS_ADMIN_SECRET", ""))
USER = (os.environ.get("DEADBOLT_KMS_USER_KEY", ""), os.environ.get("DEADBOLT_KMS_USER_SECRET", ""))
USER_ARN = os.environ.get("DEADBOLT_KMS_USER_ARN", "")

# No retries: an error must surface at once, and a retried request would hide
# a server that drops connections.
CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(key_id, secret):
    return boto3.client(
        "kms",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=CONFIG,
    )


def error_code(exc):
    return exc.response["Error"]["Code"]


class KmsBoto3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [n for n, v in [("DEADBOLT_KMS_ENDPOINT", ENDPOINT), ("DEADBOLT_KMS_ADMIN_KEY", ADMIN[0]),
                                  ("DEADBOLT_KMS_ADMIN_SECRET", ADMIN[1]), ("DEADBOLT_KMS_USER_KEY", USER[0]),
                                  ("DEADBOLT_KMS_USER_SECRET", USER[1]), ("DEADBOLT_KMS_USER_ARN", USER_ARN)] if not v]
        if missing:
            raise RuntimeError("set " + ", ".join(missing) + " (tests/python/kms/run.sh does)")
        cls.admin = client(*ADMIN)
        cls.user = client(*USER)
        cls.account = USER_ARN.split(":")[4]

    def assertKmsError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(error_code(cm.exception), code, cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        if code != "InvalidCiphertextException":  # AWS's is empty, and so is deadbolt's
            self.assertTrue(cm.exception.response["Error"]["Message"], "errors carry a message")
        return cm.exception

    def new_key(self, **kwargs):
        meta = self.admin.create_key(Description="boto3 suite " + self.id(), **kwargs)["KeyMetadata"]
        return meta

    # --- keys and aliases ---------------------------------------------------

    def test_create_key(self):
        meta = self.new_key(Tags=[{"TagKey": "team", "TagValue": "security"}])
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertTrue(meta["Enabled"])
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["AWSAccountId"], self.account)
        self.assertEqual(meta["Arn"], f"arn:aws:kms:us-east-1:{self.account}:key/{meta['KeyId']}")
        # Epoch-seconds timestamps come back as datetimes.
        self.assertLess(abs(meta["CreationDate"].timestamp() - time.time()), 300)
        described = self.admin.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
        self.assertEqual(described["KeyId"], meta["KeyId"])
        ids = []
        for page in self.admin.get_paginator("list_keys").paginate():
            ids += [k["KeyId"] for k in page["Keys"]]
        self.assertIn(meta["KeyId"], ids)
        tags = self.admin.list_resource_tags(KeyId=meta["KeyId"])["Tags"]
        self.assertEqual(tags, [{"TagKey": "team", "TagValue": "security"}])

    def test_alias(self):
        key = self.new_key()["KeyId"]
        alias = "alias/boto3-" + uuid.uuid4().hex[:12]
        self.admin.create_alias(AliasName=alias, TargetKeyId=key)
        self.assertEqual(self.admin.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"], key)
        aliases = self.admin.list_aliases(KeyId=key)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], [alias])
        self.assertEqual(aliases[0]["AliasArn"], f"arn:aws:kms:us-east-1:{self.account}:{alias}")
        blob = self.admin.encrypt(KeyId=alias, Plaintext=b"via alias")["CiphertextBlob"]
        out = self.admin.decrypt(CiphertextBlob=blob)
        self.assertEqual(out["Plaintext"], b"via alias")
        self.assertTrue(out["KeyId"].endswith(key))
        self.assertKmsError("AlreadyExistsException", self.admin.create_alias, AliasName=alias, TargetKeyId=key)
        self.admin.delete_alias(AliasName=alias)
        self.assertKmsError("NotFoundException", self.admin.describe_key, KeyId=alias)

    def test_unknown_key(self):
        self.assertKmsError("NotFoundException", self.admin.describe_key, KeyId=str(uuid.uuid4()))

    # --- encryption ---------------------------------------------------------

    def test_encrypt_decrypt_with_context(self):
        key = self.new_key()["KeyId"]
        ctx = {"app": "billing", "env": "prod"}
        plaintext = os.urandom(100)
        out = self.admin.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=ctx)
        self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        blob = out["CiphertextBlob"]
        self.assertNotIn(plaintext, blob)
        # Context order does not matter; KeyId is optional for symmetric keys.
        back = self.admin.decrypt(CiphertextBlob=blob, EncryptionContext={"env": "prod", "app": "billing"})
        self.assertEqual(back["Plaintext"], plaintext)
        back = self.admin.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=key)
        self.assertEqual(back["Plaintext"], plaintext)

    def test_wrong_context_is_invalid_ciphertext(self):
        key = self.new_key()["KeyId"]
        blob = self.admin.encrypt(KeyId=key, Plaintext=b"secret", EncryptionContext={"app": "billing"})["CiphertextBlob"]
        self.assertKmsError("InvalidCiphertextException", self.admin.decrypt,
                            CiphertextBlob=blob, EncryptionContext={"app": "payroll"})
        self.assertKmsError("InvalidCiphertextException", self.admin.decrypt, CiphertextBlob=blob)
        tampered = bytearray(blob)
        tampered[-1] ^= 1
        self.assertKmsError("InvalidCiphertextException", self.admin.decrypt,
                            CiphertextBlob=bytes(tampered), EncryptionContext={"app": "billing"})

    def test_disabled_key(self):
        key = self.new_key()["KeyId"]
        blob = self.admin.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
        self.admin.disable_key(KeyId=key)
        self.assertEqual(self.admin.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Disabled")
        self.assertKmsError("DisabledException", self.admin.encrypt, KeyId=key, Plaintext=b"x")
        self.assertKmsError("DisabledException", self.admin.decrypt, CiphertextBlob=blob)
        self.admin.enable_key(KeyId=key)
        self.assertEqual(self.admin.decrypt(CiphertextBlob=blob)["Plaintext"], b"before")

    def test_data_keys(self):
        key = self.new_key()["KeyId"]
        ctx = {"purpose": "envelope"}
        dk = self.admin.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=ctx)
        self.assertEqual(len(dk["Plaintext"]), 32)
        again = self.admin.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=ctx)
        self.assertEqual(again["Plaintext"], dk["Plaintext"])
        dk = self.admin.generate_data_key(KeyId=key, NumberOfBytes=64)
        self.assertEqual(len(dk["Plaintext"]), 64)
        dk = self.admin.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_128")
        self.assertNotIn("Plaintext", dk)
        self.assertEqual(len(self.admin.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"]), 16)
        self.assertEqual(len(self.admin.generate_random(NumberOfBytes=48)["Plaintext"]), 48)

    def test_rotation_then_decrypt_old_ciphertext(self):
        key = self.new_key()["KeyId"]
        old = self.admin.encrypt(KeyId=key, Plaintext=b"old material", EncryptionContext={"v": "1"})["CiphertextBlob"]
        self.admin.enable_key_rotation(KeyId=key)
        self.assertTrue(self.admin.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
        self.admin.rotate_key_on_demand(KeyId=key)
        rotations = self.admin.list_key_rotations(KeyId=key)["Rotations"]
        self.assertEqual(len(rotations), 1)
        self.assertEqual(rotations[0]["RotationType"], "ON_DEMAND")
        new = self.admin.encrypt(KeyId=key, Plaintext=b"new material", EncryptionContext={"v": "2"})["CiphertextBlob"]
        self.assertEqual(self.admin.decrypt(CiphertextBlob=old, EncryptionContext={"v": "1"})["Plaintext"], b"old material")
        self.assertEqual(self.admin.decrypt(CiphertextBlob=new, EncryptionContext={"v": "2"})["Plaintext"], b"new material")
        # ReEncrypt moves old ciphertext to the current material (or another key).
        other = self.new_key()["KeyId"]
        moved = self.admin.re_encrypt(CiphertextBlob=old, SourceEncryptionContext={"v": "1"},
                                      DestinationKeyId=other)["CiphertextBlob"]
        self.assertEqual(self.admin.decrypt(CiphertextBlob=moved)["Plaintext"], b"old material")

    def test_schedule_and_cancel_deletion(self):
        key = self.new_key()["KeyId"]
        blob = self.admin.encrypt(KeyId=key, Plaintext=b"keep")["CiphertextBlob"]
        out = self.admin.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(out["KeyState"], "PendingDeletion")
        self.assertEqual(out["PendingWindowInDays"], 7)
        self.assertLess(abs(out["DeletionDate"].timestamp() - (time.time() + 7 * 86400)), 86400 + 300)
        self.assertKmsError("KMSInvalidStateException", self.admin.encrypt, KeyId=key, Plaintext=b"x")
        self.assertKmsError("KMSInvalidStateException", self.admin.decrypt, CiphertextBlob=blob)
        self.assertKmsError("ValidationException", self.admin.schedule_key_deletion, KeyId=self.new_key()["KeyId"],
                            PendingWindowInDays=3)
        self.admin.cancel_key_deletion(KeyId=key)
        meta = self.admin.describe_key(KeyId=key)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "Disabled")
        self.assertNotIn("DeletionDate", meta)
        self.admin.enable_key(KeyId=key)
        self.assertEqual(self.admin.decrypt(CiphertextBlob=blob)["Plaintext"], b"keep")

    # --- authorisation ------------------------------------------------------

    def test_key_policy_denies_second_principal(self):
        key = self.new_key()["KeyId"]
        # The default key policy trusts the account: the user may use the key.
        blob = self.user.encrypt(KeyId=key, Plaintext=b"for the user")["CiphertextBlob"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "NotThisUser", "Effect": "Deny", "Principal": {"AWS": USER_ARN},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
            ],
        }
        self.admin.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        self.assertEqual(json.loads(self.admin.get_key_policy(KeyId=key, PolicyName="default")["Policy"]), policy)
        denied = self.assertKmsError("AccessDeniedException", self.user.encrypt, KeyId=key, Plaintext=b"x")
        self.assertIn(USER_ARN, denied.response["Error"]["Message"])
        self.assertKmsError("AccessDeniedException", self.user.decrypt, CiphertextBlob=blob)
        self.assertKmsError("AccessDeniedException", self.user.describe_key, KeyId=key)
        # The admin is unaffected.
        self.assertEqual(self.admin.decrypt(CiphertextBlob=blob)["Plaintext"], b"for the user")

    def test_bad_signature_rejected(self):
        wrong_secret = client(ADMIN[0], ADMIN[1] + "x")
        e = self.assertKmsError("InvalidSignatureException", wrong_secret.list_keys)
        self.assertIn("signature", e.response["Error"]["Message"])
        unknown = client("AKIAUNKNOWN000000009", "whatever")
        self.assertKmsError("UnrecognizedClientException", unknown.list_keys)

    def test_grants_retired_by_the_right_principals(self):
        key = self.new_key()["KeyId"]
        root = f"arn:aws:iam::{self.account}:root"
        # The user retires a grant it is the retiring principal of.
        g = self.admin.create_grant(KeyId=key, GranteePrincipal=root, RetiringPrincipal=USER_ARN,
                                    Operations=["Decrypt"])
        self.user.retire_grant(GrantToken=g["GrantToken"])
        # Under the default key policy, any principal of the account may (the
        # IAM permissions the key policy delegates are taken as held).
        g = self.admin.create_grant(KeyId=key, GranteePrincipal=root, Operations=["Decrypt"])
        self.user.retire_grant(KeyId=key, GrantId=g["GrantId"])
        self.assertEqual(self.admin.list_grants(KeyId=key)["Grants"], [])
        # A dry run by a denied principal is AccessDenied, not DryRun.
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": USER_ARN}, "Action": "kms:Encrypt", "Resource": "*"}]}
        self.admin.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        self.assertKmsError("AccessDeniedException", self.user.encrypt, KeyId=key, Plaintext=b"x", DryRun=True)
        self.assertKmsError("DryRunOperationException", self.admin.encrypt, KeyId=key, Plaintext=b"x", DryRun=True)

    def test_key_material_ids(self):
        meta = self.new_key()
        self.assertEqual(len(meta["CurrentKeyMaterialId"]), 64)
        blob = self.admin.encrypt(KeyId=meta["KeyId"], Plaintext=b"m")["CiphertextBlob"]
        self.assertEqual(self.admin.rotate_key_on_demand(KeyId=meta["KeyId"])["KeyId"], meta["Arn"])
        now = self.admin.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
        self.assertNotEqual(now, meta["CurrentKeyMaterialId"])
        out = self.admin.decrypt(CiphertextBlob=blob)
        self.assertEqual(out["KeyMaterialId"], meta["CurrentKeyMaterialId"])

    def test_error_metadata(self):
        with self.assertRaises(ClientError) as cm:
            self.admin.describe_key(KeyId="alias/does-not-exist")
        meta = cm.exception.response["ResponseMetadata"]
        self.assertTrue(meta["RequestId"], "x-amzn-RequestId is returned")
        self.assertEqual(meta["HTTPHeaders"]["content-type"], "application/x-amz-json-1.1")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(KmsBoto3)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
