//! The built-in KMS through its public API: ciphertext integrity, encryption
//! contexts, rotation, key states, key policies, grants, validation, aliases,
//! the keystore's root key and file modes, and envelope files.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::envelope::{decrypt_envelope_file, encrypt_envelope};
use deadbolt::kms::{Caller, Kms, KmsError, RootKey, StoreOptions};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ROOT: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";
const DAY: f64 = 86_400.0;

fn root() -> RootKey {
    RootKey::from_hex(ROOT).unwrap()
}

fn open() -> (tempfile::TempDir, Kms, Caller) {
    let dir = tempfile::tempdir().unwrap();
    let kms = Kms::open(&dir.path().join("ks"), root()).unwrap();
    (dir, kms, Caller::local_admin(ACCOUNT))
}

fn ok(kms: &Kms, c: &Caller, op: &str, input: Value) -> Value {
    match kms.call(op, c, input.clone()) {
        Ok(v) => v,
        Err(e) => panic!("{op} {input} failed: {e}"),
    }
}

fn err(kms: &Kms, c: &Caller, op: &str, input: Value) -> KmsError {
    match kms.call(op, c, input.clone()) {
        Ok(v) => panic!("{op} {input} should fail, answered {v}"),
        Err(e) => e,
    }
}

fn kind(kms: &Kms, c: &Caller, op: &str, input: Value) -> &'static str {
    err(kms, c, op, input).kind
}

fn new_key(kms: &Kms, c: &Caller) -> String {
    ok(kms, c, "CreateKey", json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

fn encrypt(kms: &Kms, c: &Caller, key: &str, plain: &[u8], ctx: Value) -> String {
    ok(
        kms,
        c,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(plain), "EncryptionContext": ctx}),
    )["CiphertextBlob"]
        .as_str()
        .unwrap()
        .to_string()
}

fn decrypt(kms: &Kms, c: &Caller, blob: &str, ctx: Value) -> Result<Vec<u8>, KmsError> {
    kms.call(
        "Decrypt",
        c,
        json!({"CiphertextBlob": blob, "EncryptionContext": ctx}),
    )
    .map(|v| B64.decode(v["Plaintext"].as_str().unwrap()).unwrap())
}

fn user(account: &str, name: &str) -> Caller {
    Caller::from_principal(&format!("arn:aws:iam::{account}:user/{name}"))
}

fn arn(key: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}")
}

#[test]
fn round_trip_and_response_shapes() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let out = ok(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"hello"), "EncryptionContext": {"app": "web"}}),
    );
    assert_eq!(out["KeyId"], arn(&key));
    assert_eq!(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    let blob = out["CiphertextBlob"].as_str().unwrap();
    let d = ok(
        &kms,
        &me,
        "Decrypt",
        json!({"CiphertextBlob": blob, "EncryptionContext": {"app": "web"}}),
    );
    assert_eq!(d["Plaintext"], b64(b"hello"));
    assert_eq!(d["KeyId"], arn(&key));
    // The typed API agrees.
    let ctx: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    let raw = B64.decode(blob).unwrap();
    let (plain, kid) = kms.decrypt_blob(&me, &raw, &ctx, None).unwrap();
    assert_eq!(plain.as_slice(), b"hello");
    assert_eq!(kid.as_str(), key);
}

#[test]
fn tampered_ciphertext_fails() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = B64
        .decode(encrypt(
            &kms,
            &me,
            &key,
            b"attack at dawn",
            json!({"a": "b"}),
        ))
        .unwrap();
    for i in 0..blob.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = blob.clone();
            t[i] ^= bit;
            let e = decrypt(&kms, &me, &b64(&t), json!({"a": "b"})).unwrap_err();
            assert_eq!(e.kind, "InvalidCiphertextException", "byte {i}: {e}");
        }
    }
    // Truncated and extended blobs.
    for t in [&blob[..blob.len() - 1], &blob[..10]] {
        let e = decrypt(&kms, &me, &b64(t), json!({"a": "b"})).unwrap_err();
        assert_eq!(e.kind, "InvalidCiphertextException");
    }
    let mut longer = blob.clone();
    longer.push(0);
    let e = decrypt(&kms, &me, &b64(&longer), json!({"a": "b"})).unwrap_err();
    assert_eq!(e.kind, "InvalidCiphertextException");
    assert_eq!(
        decrypt(&kms, &me, &b64(&blob), json!({"a": "b"})).unwrap(),
        b"attack at dawn"
    );
}

#[test]
fn wrong_key_is_incorrect_key() {
    let (_d, kms, me) = open();
    let k1 = new_key(&kms, &me);
    let k2 = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/one", "TargetKeyId": k1}),
    );
    let blob = encrypt(&kms, &me, &k1, b"x", json!({}));
    for wrong in [k2.clone(), arn(&k2)] {
        let e = err(
            &kms,
            &me,
            "Decrypt",
            json!({"CiphertextBlob": blob, "KeyId": wrong}),
        );
        assert_eq!(e.kind, "IncorrectKeyException", "{e}");
    }
    for right in [k1.clone(), arn(&k1), "alias/one".to_string()] {
        ok(
            &kms,
            &me,
            "Decrypt",
            json!({"CiphertextBlob": blob, "KeyId": right}),
        );
    }
    // A key that does not exist is NotFound, not Incorrect.
    assert_eq!(
        kind(
            &kms,
            &me,
            "Decrypt",
            json!({"CiphertextBlob": blob, "KeyId": "alias/nope"})
        ),
        "NotFoundException"
    );
}

#[test]
fn wrong_or_missing_context_fails() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = encrypt(
        &kms,
        &me,
        &key,
        b"x",
        json!({"dept": "finance", "env": "prod"}),
    );
    for ctx in [
        json!({}),
        json!({"dept": "finance"}),
        json!({"dept": "finance", "env": "dev"}),
        json!({"dept": "finance", "env": "prod", "extra": ""}),
        json!({"Dept": "finance", "env": "prod"}),
    ] {
        let e = decrypt(&kms, &me, &blob, ctx.clone()).unwrap_err();
        assert_eq!(e.kind, "InvalidCiphertextException", "{ctx}");
    }
    // Key order in the request does not matter.
    assert_eq!(
        decrypt(&kms, &me, &blob, json!({"env": "prod", "dept": "finance"})).unwrap(),
        b"x"
    );
    // A blob made without a context needs none.
    let plain = encrypt(&kms, &me, &key, b"y", json!({}));
    assert_eq!(
        decrypt(&kms, &me, &plain, json!({"a": "b"}))
            .unwrap_err()
            .kind,
        "InvalidCiphertextException"
    );
    assert_eq!(decrypt(&kms, &me, &plain, json!({})).unwrap(), b"y");
}

#[test]
fn ambiguous_contexts_are_distinct() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = encrypt(&kms, &me, &key, b"x", json!({"ab": "c"}));
    let e = decrypt(&kms, &me, &blob, json!({"a": "bc"})).unwrap_err();
    assert_eq!(e.kind, "InvalidCiphertextException");
    let blob2 = encrypt(&kms, &me, &key, b"x", json!({"a": "b", "c": "d"}));
    for ctx in [
        json!({"a": "bc", "": "d"}),
        json!({"ab": "", "c": "d"}),
        json!({"a": "b\u{0}c", "": "d"}),
    ] {
        assert!(decrypt(&kms, &me, &blob2, ctx).is_err());
    }
    assert_eq!(decrypt(&kms, &me, &blob, json!({"ab": "c"})).unwrap(), b"x");
}

fn blob_version(blob: &str) -> u32 {
    let b = B64.decode(blob).unwrap();
    u32::from_be_bytes([b[21], b[22], b[23], b[24]])
}

#[test]
fn old_ciphertexts_decrypt_after_rotations() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let mut blobs = vec![encrypt(&kms, &me, &key, b"v1", json!({"n": "1"}))];
    for i in 2..=5u32 {
        let r = ok(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key}));
        // AWS answers the key ARN.
        assert_eq!(r["KeyId"], arn(&key));
        let b = encrypt(
            &kms,
            &me,
            &key,
            format!("v{i}").as_bytes(),
            json!({"n": i.to_string()}),
        );
        assert_eq!(blob_version(&b), i);
        blobs.push(b);
    }
    assert_eq!(blob_version(&blobs[0]), 1);
    for (i, b) in blobs.iter().enumerate() {
        let n = (i + 1).to_string();
        assert_eq!(
            decrypt(&kms, &me, b, json!({"n": n})).unwrap(),
            format!("v{n}").as_bytes()
        );
    }
    let rot = ok(&kms, &me, "ListKeyRotations", json!({"KeyId": key}));
    assert_eq!(rot["Rotations"].as_array().unwrap().len(), 4);
    assert_eq!(rot["Rotations"][0]["RotationType"], "ON_DEMAND");
    assert_eq!(kms.describe(&key).unwrap().backing_versions, 5);
    // ReEncrypt moves an old ciphertext onto the newest backing key.
    let re = ok(
        &kms,
        &me,
        "ReEncrypt",
        json!({"CiphertextBlob": blobs[0], "SourceEncryptionContext": {"n": "1"},
               "DestinationKeyId": key, "DestinationEncryptionContext": {"n": "new"}}),
    );
    let nb = re["CiphertextBlob"].as_str().unwrap();
    assert_eq!(blob_version(nb), 5);
    assert_eq!(re["SourceKeyId"], arn(&key));
    assert_eq!(decrypt(&kms, &me, nb, json!({"n": "new"})).unwrap(), b"v1");
}

#[test]
fn automatic_rotation() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let old = encrypt(&kms, &me, &key, b"old", json!({}));
    ok(
        &kms,
        &me,
        "EnableKeyRotation",
        json!({"KeyId": key, "RotationPeriodInDays": 90}),
    );
    let st = ok(&kms, &me, "GetKeyRotationStatus", json!({"KeyId": key}));
    assert_eq!(st["KeyRotationEnabled"], true);
    assert_eq!(st["RotationPeriodInDays"], 90);
    assert!(st["NextRotationDate"].as_f64().is_some());
    kms.advance_clock(89.0 * DAY);
    assert_eq!(blob_version(&encrypt(&kms, &me, &key, b"a", json!({}))), 1);
    kms.advance_clock(2.0 * DAY);
    assert_eq!(blob_version(&encrypt(&kms, &me, &key, b"a", json!({}))), 2);
    kms.advance_clock(91.0 * DAY);
    assert_eq!(blob_version(&encrypt(&kms, &me, &key, b"a", json!({}))), 3);
    assert_eq!(decrypt(&kms, &me, &old, json!({})).unwrap(), b"old");
    let rot = ok(&kms, &me, "ListKeyRotations", json!({"KeyId": key}));
    assert_eq!(rot["Rotations"][0]["RotationType"], "AUTOMATIC");
    ok(&kms, &me, "DisableKeyRotation", json!({"KeyId": key}));
    let st = ok(&kms, &me, "GetKeyRotationStatus", json!({"KeyId": key}));
    assert_eq!(st["KeyRotationEnabled"], false);
    for bad in [89, 2561] {
        assert_eq!(
            kind(
                &kms,
                &me,
                "EnableKeyRotation",
                json!({"KeyId": key, "RotationPeriodInDays": bad})
            ),
            "ValidationException"
        );
    }
}

#[test]
fn disabled_key_refuses_crypto() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = encrypt(&kms, &me, &key, b"x", json!({}));
    ok(&kms, &me, "DisableKey", json!({"KeyId": key}));
    let meta = ok(&kms, &me, "DescribeKey", json!({"KeyId": key}));
    assert_eq!(meta["KeyMetadata"]["KeyState"], "Disabled");
    assert_eq!(meta["KeyMetadata"]["Enabled"], false);
    let e = err(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    assert_eq!(e.kind, "DisabledException");
    assert_eq!(e.message, format!("{} is disabled.", arn(&key)));
    assert_eq!(
        decrypt(&kms, &me, &blob, json!({})).unwrap_err().kind,
        "DisabledException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "GenerateDataKey",
            json!({"KeyId": key, "KeySpec": "AES_256"})
        ),
        "DisabledException"
    );
    assert_eq!(
        kind(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key})),
        "DisabledException"
    );
    assert_eq!(
        kind(&kms, &me, "EnableKeyRotation", json!({"KeyId": key})),
        "DisabledException"
    );
    ok(&kms, &me, "EnableKey", json!({"KeyId": key}));
    assert_eq!(decrypt(&kms, &me, &blob, json!({})).unwrap(), b"x");
}

#[test]
fn pending_deletion_and_cancel() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/doomed", "TargetKeyId": key}),
    );
    let blob = encrypt(&kms, &me, &key, b"x", json!({}));
    let out = ok(
        &kms,
        &me,
        "ScheduleKeyDeletion",
        json!({"KeyId": key, "PendingWindowInDays": 7}),
    );
    assert_eq!(out["KeyState"], "PendingDeletion");
    assert_eq!(out["PendingWindowInDays"], 7);
    assert_eq!(out["KeyId"], arn(&key));
    assert!(out["DeletionDate"].as_f64().unwrap() > 0.0);
    let e = err(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    assert_eq!(e.kind, "KMSInvalidStateException");
    assert_eq!(e.message, format!("{} is pending deletion.", arn(&key)));
    assert_eq!(
        decrypt(&kms, &me, &blob, json!({})).unwrap_err().kind,
        "KMSInvalidStateException"
    );
    assert_eq!(
        kind(&kms, &me, "EnableKey", json!({"KeyId": key})),
        "KMSInvalidStateException"
    );
    assert_eq!(
        kind(&kms, &me, "ScheduleKeyDeletion", json!({"KeyId": key})),
        "KMSInvalidStateException"
    );
    let d = ok(&kms, &me, "DescribeKey", json!({"KeyId": "alias/doomed"}));
    assert_eq!(d["KeyMetadata"]["KeyState"], "PendingDeletion");
    assert!(d["KeyMetadata"]["DeletionDate"].is_number());
    let c = ok(&kms, &me, "CancelKeyDeletion", json!({"KeyId": key}));
    assert_eq!(c["KeyId"], arn(&key));
    let d = ok(&kms, &me, "DescribeKey", json!({"KeyId": key}));
    assert_eq!(d["KeyMetadata"]["KeyState"], "Disabled");
    assert!(d["KeyMetadata"].get("DeletionDate").is_none());
    assert_eq!(
        kind(&kms, &me, "CancelKeyDeletion", json!({"KeyId": key})),
        "KMSInvalidStateException"
    );
    assert_eq!(
        decrypt(&kms, &me, &blob, json!({})).unwrap_err().kind,
        "DisabledException"
    );
    ok(&kms, &me, "EnableKey", json!({"KeyId": key}));
    assert_eq!(decrypt(&kms, &me, &blob, json!({})).unwrap(), b"x");
}

#[test]
fn deletion_happens_after_the_window() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let keep = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/doomed", "TargetKeyId": key}),
    );
    let blob = encrypt(&kms, &me, &key, b"x", json!({}));
    ok(&kms, &me, "ScheduleKeyDeletion", json!({"KeyId": key}));
    kms.advance_clock(29.0 * DAY);
    ok(&kms, &me, "DescribeKey", json!({"KeyId": key}));
    kms.advance_clock(1.0 * DAY + 1.0);
    assert_eq!(
        kind(&kms, &me, "DescribeKey", json!({"KeyId": key})),
        "NotFoundException"
    );
    assert_eq!(
        kind(&kms, &me, "DescribeKey", json!({"KeyId": "alias/doomed"})),
        "NotFoundException"
    );
    assert_eq!(
        decrypt(&kms, &me, &blob, json!({})).unwrap_err().kind,
        "InvalidCiphertextException"
    );
    let keys = ok(&kms, &me, "ListKeys", json!({}));
    assert_eq!(keys["Keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys["Keys"][0]["KeyId"], keep);
    // The next write removes the key's file and its alias for good.
    new_key(&kms, &me);
    let dir = kms.path();
    assert!(!dir.join("keys").join(format!("{key}.json")).exists());
    let aliases = ok(&kms, &me, "ListAliases", json!({}));
    assert_eq!(aliases["Aliases"].as_array().unwrap().len(), 0);
}

#[test]
fn key_policy_deny_wins() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let alice = user(ACCOUNT, "alice");
    let bob = user(ACCOUNT, "bob");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "alice", "Effect": "Allow", "Principal": {"AWS": alice.principal},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
            {"Sid": "no-alice-decrypt-outside-finance", "Effect": "Deny", "Principal": {"AWS": alice.principal},
             "Action": "kms:Decrypt*", "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:EncryptionContext:dept": "finance"}}}
        ]
    });
    ok(
        &kms,
        &me,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": policy.to_string()}),
    );
    let fin = encrypt(&kms, &alice, &key, b"f", json!({"dept": "finance"}));
    let hr = encrypt(&kms, &alice, &key, b"h", json!({"dept": "hr"}));
    assert_eq!(
        decrypt(&kms, &alice, &fin, json!({"dept": "finance"})).unwrap(),
        b"f"
    );
    let e = decrypt(&kms, &alice, &hr, json!({"dept": "hr"})).unwrap_err();
    assert_eq!(e.kind, "AccessDeniedException");
    assert!(e.message.contains("explicit deny"), "{e}");
    // Bob is a principal of the account: the root statement delegates to him.
    assert_eq!(
        decrypt(&kms, &bob, &hr, json!({"dept": "hr"})).unwrap(),
        b"h"
    );
    // The typed API answers the same question.
    let ctx = |d: &str| BTreeMap::from([("dept".to_string(), d.to_string())]);
    assert!(kms
        .policy_allows(&key, &alice.principal, "kms:Decrypt", &ctx("finance"))
        .unwrap());
    assert!(!kms
        .policy_allows(&key, &alice.principal, "Decrypt", &ctx("hr"))
        .unwrap());
    assert!(kms
        .policy_allows(&key, &bob.principal, "kms:Decrypt", &ctx("hr"))
        .unwrap());
    assert!(!kms
        .policy_allows(
            &key,
            &format!("arn:aws:iam::{OTHER}:root"),
            "kms:Decrypt",
            &ctx("finance")
        )
        .unwrap());
    // GetKeyPolicy returns the document as given.
    let got = ok(&kms, &me, "GetKeyPolicy", json!({"KeyId": key}));
    assert_eq!(got["Policy"], policy.to_string());
    assert_eq!(
        kind(
            &kms,
            &me,
            "GetKeyPolicy",
            json!({"KeyId": key, "PolicyName": "other"})
        ),
        "NotFoundException"
    );
}

#[test]
fn policy_lockout_and_malformed_policies() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let carol = user(ACCOUNT, "carol");
    let only_carol =
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": carol.principal},
                            "Action": "kms:*", "Resource": "*"}]})
        .to_string();
    assert_eq!(
        kind(
            &kms,
            &me,
            "PutKeyPolicy",
            json!({"KeyId": key, "Policy": only_carol})
        ),
        "MalformedPolicyDocumentException"
    );
    for bad in [
        "not json",
        r#"{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#,
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"Foo": {"a": "b"}}}]}"#,
    ] {
        assert_eq!(
            kind(
                &kms,
                &me,
                "PutKeyPolicy",
                json!({"KeyId": key, "Policy": bad})
            ),
            "MalformedPolicyDocumentException",
            "{bad}"
        );
        assert_eq!(
            kind(&kms, &me, "CreateKey", json!({"Policy": bad})),
            "MalformedPolicyDocumentException"
        );
    }
    ok(
        &kms,
        &me,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": only_carol, "BypassPolicyLockoutSafetyCheck": true}),
    );
    assert_eq!(
        kind(&kms, &me, "DescribeKey", json!({"KeyId": key})),
        "AccessDeniedException"
    );
    ok(&kms, &carol, "DescribeKey", json!({"KeyId": key}));
}

#[test]
fn grants_allow_the_grantee() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let key_arn = arn(&key);
    let bob = user(OTHER, "bob");
    let app = user(OTHER, "app");
    // Another account's principal: no access under the default policy.
    let e = err(
        &kms,
        &bob,
        "Encrypt",
        json!({"KeyId": key_arn, "Plaintext": b64(b"x")}),
    );
    assert_eq!(e.kind, "AccessDeniedException");
    // ... and a bare key id means a key of bob's own account.
    assert_eq!(
        kind(
            &kms,
            &bob,
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x")})
        ),
        "NotFoundException"
    );
    let g = ok(
        &kms,
        &me,
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": bob.principal, "RetiringPrincipal": app.principal,
               "Operations": ["Encrypt", "Decrypt"], "Name": "bob-finance",
               "Constraints": {"EncryptionContextSubset": {"dept": "finance"}}}),
    );
    let gid = g["GrantId"].as_str().unwrap().to_string();
    let token = g["GrantToken"].as_str().unwrap().to_string();
    assert_eq!(gid.len(), 64);
    // The same grant again (same name and parameters) is the same grant.
    let again = ok(
        &kms,
        &me,
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": bob.principal, "RetiringPrincipal": app.principal,
               "Operations": ["Decrypt", "Encrypt"], "Name": "bob-finance",
               "Constraints": {"EncryptionContextSubset": {"dept": "finance"}}}),
    );
    assert_eq!(again["GrantId"], gid);
    let blob = encrypt(
        &kms,
        &bob,
        &key_arn,
        b"x",
        json!({"dept": "finance", "x": "y"}),
    );
    assert_eq!(
        decrypt(&kms, &bob, &blob, json!({"dept": "finance", "x": "y"})).unwrap(),
        b"x"
    );
    assert_eq!(
        kind(
            &kms,
            &bob,
            "Encrypt",
            json!({"KeyId": key_arn, "Plaintext": b64(b"x"), "EncryptionContext": {"dept": "hr"}})
        ),
        "AccessDeniedException"
    );
    assert_eq!(
        kind(
            &kms,
            &bob,
            "GenerateDataKey",
            json!({"KeyId": key_arn, "KeySpec": "AES_256", "EncryptionContext": {"dept": "finance"}})
        ),
        "AccessDeniedException"
    );
    // Grant tokens are checked when given.
    ok(
        &kms,
        &bob,
        "Encrypt",
        json!({"KeyId": key_arn, "Plaintext": b64(b"x"), "EncryptionContext": {"dept": "finance"}, "GrantTokens": [token]}),
    );
    assert_eq!(
        kind(
            &kms,
            &bob,
            "Encrypt",
            json!({"KeyId": key_arn, "Plaintext": b64(b"x"), "GrantTokens": ["bogus"]})
        ),
        "InvalidGrantTokenException"
    );
    let list = ok(&kms, &me, "ListGrants", json!({"KeyId": key}));
    let grants = list["Grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["GranteePrincipal"], bob.principal);
    assert_eq!(
        grants[0]["Constraints"]["EncryptionContextSubset"]["dept"],
        "finance"
    );
    assert_eq!(
        grants[0]["IssuingAccount"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    let typed = BTreeMap::from([("dept".to_string(), "finance".to_string())]);
    assert!(kms
        .policy_allows(&key, &bob.principal, "kms:Decrypt", &typed)
        .unwrap());
    assert!(!kms
        .policy_allows(&key, &bob.principal, "kms:Decrypt", &BTreeMap::new())
        .unwrap());
    // Only the retiring principal (or the grantee with RetireGrant) may retire it.
    assert_eq!(
        kind(&kms, &bob, "RetireGrant", json!({"GrantToken": token})),
        "AccessDeniedException"
    );
    assert_eq!(
        kind(&kms, &app, "RetireGrant", json!({"GrantToken": "nope"})),
        "InvalidGrantTokenException"
    );
    ok(&kms, &app, "RetireGrant", json!({"GrantToken": token}));
    assert_eq!(
        decrypt(&kms, &bob, &blob, json!({"dept": "finance", "x": "y"}))
            .unwrap_err()
            .kind,
        "AccessDeniedException"
    );
    // RevokeGrant by the key's administrators.
    let g2 = ok(
        &kms,
        &me,
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": bob.principal, "Operations": ["Decrypt"]}),
    );
    let gid2 = g2["GrantId"].as_str().unwrap();
    assert_eq!(
        decrypt(&kms, &bob, &blob, json!({"dept": "finance", "x": "y"})).unwrap(),
        b"x"
    );
    assert_eq!(
        kind(
            &kms,
            &bob,
            "RevokeGrant",
            json!({"KeyId": key_arn, "GrantId": gid2})
        ),
        "AccessDeniedException"
    );
    ok(
        &kms,
        &me,
        "RevokeGrant",
        json!({"KeyId": key, "GrantId": gid2}),
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "RevokeGrant",
            json!({"KeyId": key, "GrantId": gid2})
        ),
        "NotFoundException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "RevokeGrant",
            json!({"KeyId": key, "GrantId": "xyz"})
        ),
        "InvalidGrantIdException"
    );
    // Grant validation.
    for (input, want) in [
        (
            json!({"KeyId": key, "GranteePrincipal": bob.principal, "Operations": ["Sign"]}),
            "ValidationException",
        ),
        (
            json!({"KeyId": key, "GranteePrincipal": bob.principal, "Operations": ["Fly"]}),
            "ValidationException",
        ),
        (
            json!({"KeyId": key, "GranteePrincipal": bob.principal, "Operations": []}),
            "ValidationException",
        ),
        (
            json!({"KeyId": key, "Operations": ["Decrypt"]}),
            "ValidationException",
        ),
        (
            json!({"KeyId": key, "GranteePrincipal": bob.principal, "Operations": ["DescribeKey"],
                   "Constraints": {"EncryptionContextEquals": {"a": "b"}}}),
            "ValidationException",
        ),
    ] {
        assert_eq!(
            kind(&kms, &me, "CreateGrant", input.clone()),
            want,
            "{input}"
        );
    }
}

#[test]
fn validation_errors() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let enc = |n: usize| {
        kms.call(
            "Encrypt",
            &me,
            json!({"KeyId": key, "Plaintext": b64(&vec![7u8; n])}),
        )
    };
    assert_eq!(enc(0).unwrap_err().kind, "ValidationException");
    assert_eq!(enc(4097).unwrap_err().kind, "ValidationException");
    assert!(enc(1).is_ok());
    assert!(enc(4096).is_ok());
    let gdk = |v: Value| kms.call("GenerateDataKey", &me, v);
    for n in [0, 1025, -1] {
        assert_eq!(
            gdk(json!({"KeyId": key, "NumberOfBytes": n}))
                .unwrap_err()
                .kind,
            "ValidationException",
            "{n}"
        );
    }
    for (n, len) in [(1, 1), (1024, 1024)] {
        let out = gdk(json!({"KeyId": key, "NumberOfBytes": n})).unwrap();
        assert_eq!(
            B64.decode(out["Plaintext"].as_str().unwrap())
                .unwrap()
                .len(),
            len
        );
    }
    for (spec, len) in [("AES_256", 32), ("AES_128", 16)] {
        let out = gdk(json!({"KeyId": key, "KeySpec": spec})).unwrap();
        let p = B64.decode(out["Plaintext"].as_str().unwrap()).unwrap();
        assert_eq!(p.len(), len);
        let d = ok(
            &kms,
            &me,
            "Decrypt",
            json!({"CiphertextBlob": out["CiphertextBlob"]}),
        );
        assert_eq!(B64.decode(d["Plaintext"].as_str().unwrap()).unwrap(), p);
    }
    assert_eq!(
        gdk(json!({"KeyId": key, "KeySpec": "AES_256", "NumberOfBytes": 32}))
            .unwrap_err()
            .kind,
        "ValidationException"
    );
    assert_eq!(
        gdk(json!({"KeyId": key})).unwrap_err().kind,
        "ValidationException"
    );
    assert_eq!(
        gdk(json!({"KeyId": key, "KeySpec": "AES_512"}))
            .unwrap_err()
            .kind,
        "ValidationException"
    );
    let w = ok(
        &kms,
        &me,
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    );
    assert!(w.get("Plaintext").is_none());
    for days in [6, 31, 0] {
        assert_eq!(
            kind(
                &kms,
                &me,
                "ScheduleKeyDeletion",
                json!({"KeyId": key, "PendingWindowInDays": days})
            ),
            "ValidationException"
        );
    }
    for n in [0, 1025] {
        assert_eq!(
            kind(&kms, &me, "GenerateRandom", json!({"NumberOfBytes": n})),
            "ValidationException"
        );
    }
    let r = ok(&kms, &me, "GenerateRandom", json!({"NumberOfBytes": 1024}));
    assert_eq!(
        B64.decode(r["Plaintext"].as_str().unwrap()).unwrap().len(),
        1024
    );
    // Missing members, wrong JSON types, bad base64.
    let e = err(&kms, &me, "Encrypt", json!({"Plaintext": b64(b"x")}));
    assert_eq!(e.kind, "ValidationException");
    assert!(e.message.contains("'keyId'"), "{e}");
    assert_eq!(
        kind(&kms, &me, "Encrypt", json!({"KeyId": key, "Plaintext": 5})),
        "SerializationException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "Encrypt",
            json!({"KeyId": key, "Plaintext": "***"})
        ),
        "SerializationException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionContext": {"a": 1}})
        ),
        "SerializationException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"})
        ),
        "InvalidKeyUsageException"
    );
    assert_eq!(
        kind(&kms, &me, "Decrypt", json!({"CiphertextBlob": ""})),
        "ValidationException"
    );
    // AWS asks for a KeyUsage with any other spec (recorded answer); with one,
    // the spec is not made here.
    let e = err(&kms, &me, "CreateKey", json!({"KeySpec": "RSA_2048"}));
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            "ValidationException",
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
        )
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "CreateKey",
            json!({"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"})
        ),
        "UnsupportedOperationException"
    );
    // Operations of other key types, on this KMS's symmetric keys: AWS's answer.
    let e = err(
        &kms,
        &me,
        "Sign",
        json!({"KeyId": key, "Message": b64(b"m")}),
    );
    assert_eq!(e.kind, "InvalidKeyUsageException");
    assert_eq!(
        e.message,
        format!(
            "{} key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
            arn(&key)
        )
    );
    let e = err(&kms, &me, "GetParametersForImport", json!({"KeyId": key}));
    assert_eq!(
        (e.kind, e.message),
        (
            "UnsupportedOperationException",
            format!(
                "{} origin is AWS_KMS which is not valid for this operation.",
                arn(&key)
            )
        )
    );
    assert_eq!(
        kind(&kms, &me, "GetPublicKey", json!({"KeyId": key})),
        "UnsupportedOperationException"
    );
    let u = err(&kms, &me, "FlyToTheMoon", json!({}));
    assert_eq!(u.kind, "UnknownOperationException");
    assert_eq!(u.status, 400);
    assert_eq!(
        kind(&kms, &me, "ListKeys", json!([1])),
        "SerializationException"
    );
    assert_eq!(
        kind(&kms, &me, "DescribeKey", json!({"KeyId": "not-a-key"})),
        "NotFoundException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "DescribeKey",
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"})
        ),
        "NotFoundException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "DescribeKey",
            json!({"KeyId": format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key}")})
        ),
        "NotFoundException"
    );
}

#[test]
fn alias_rules() {
    let (_d, kms, me) = open();
    let k1 = new_key(&kms, &me);
    let k2 = new_key(&kms, &me);
    let create = |name: &str, target: &str| {
        kms.call(
            "CreateAlias",
            &me,
            json!({"AliasName": name, "TargetKeyId": target}),
        )
    };
    create("alias/app", &k1).unwrap();
    for (name, want) in [
        ("app2", "ValidationException"),
        ("alias/aws/mine", "NotAuthorizedException"),
        ("alias/a:b", "ValidationException"),
        ("alias/bad name", "ValidationException"),
        ("alias/", "InvalidAliasNameException"),
        ("alias/app", "AlreadyExistsException"),
    ] {
        assert_eq!(create(name, &k2).unwrap_err().kind, want, "{name}");
    }
    let long = format!("alias/{}", "a".repeat(251));
    assert_eq!(create(&long, &k2).unwrap_err().kind, "ValidationException");
    assert_eq!(
        create("alias/x", "alias/app").unwrap_err().kind,
        "ValidationException"
    );
    assert_eq!(
        create("alias/x", "1234abcd-12ab-34cd-56ef-1234567890ab")
            .unwrap_err()
            .kind,
        "NotFoundException"
    );
    create("alias/ok_name-1/x", &k2).unwrap();
    // Every form of reference resolves.
    for r in [
        k1.clone(),
        arn(&k1),
        "alias/app".to_string(),
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"),
    ] {
        let d = ok(&kms, &me, "DescribeKey", json!({"KeyId": r}));
        assert_eq!(d["KeyMetadata"]["KeyId"], k1);
    }
    // Management operations take key ids and ARNs only.
    assert_eq!(
        kind(&kms, &me, "DisableKey", json!({"KeyId": "alias/app"})),
        "NotFoundException"
    );
    ok(
        &kms,
        &me,
        "UpdateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": k2}),
    );
    assert_eq!(kms.describe("alias/app").unwrap().key_id, k2);
    assert_eq!(
        kms.describe(&k2).unwrap().aliases,
        vec!["alias/app", "alias/ok_name-1/x"]
    );
    let filtered = ok(&kms, &me, "ListAliases", json!({"KeyId": k2}));
    assert_eq!(filtered["Aliases"].as_array().unwrap().len(), 2);
    assert_eq!(
        filtered["Aliases"][0]["AliasArn"],
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app")
    );
    ok(&kms, &me, "DeleteAlias", json!({"AliasName": "alias/app"}));
    assert_eq!(
        kind(&kms, &me, "DeleteAlias", json!({"AliasName": "alias/app"})),
        "NotFoundException"
    );
    assert_eq!(
        kind(&kms, &me, "DescribeKey", json!({"KeyId": "alias/app"})),
        "NotFoundException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "UpdateAlias",
            json!({"AliasName": "alias/app", "TargetKeyId": k1})
        ),
        "NotFoundException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "DeleteAlias",
            json!({"AliasName": "alias/aws/ebs"})
        ),
        "NotAuthorizedException"
    );
}

#[test]
fn aws_managed_keys_are_made_on_first_use() {
    let (_d, kms, me) = open();
    let d = ok(&kms, &me, "DescribeKey", json!({"KeyId": "alias/aws/ebs"}));
    assert_eq!(d["KeyMetadata"]["KeyManager"], "AWS");
    let id = d["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let again = ok(&kms, &me, "DescribeKey", json!({"KeyId": "alias/aws/ebs"}));
    assert_eq!(again["KeyMetadata"]["KeyId"], id);
    assert!(kms.describe("alias/aws/ebs").unwrap().rotation_enabled);
    // Direct use is refused; use through the service is allowed.
    assert_eq!(
        kind(
            &kms,
            &me,
            "Encrypt",
            json!({"KeyId": "alias/aws/ebs", "Plaintext": b64(b"x")})
        ),
        "AccessDeniedException"
    );
    let mut via = user(ACCOUNT, "alice");
    via.via_service = Some("ec2.us-east-1.amazonaws.com".into());
    let blob = encrypt(&kms, &via, "alias/aws/ebs", b"x", json!({}));
    assert_eq!(decrypt(&kms, &via, &blob, json!({})).unwrap(), b"x");
    // Nobody may manage an AWS managed key: its policy allows no such action.
    for op in ["DisableKey", "ScheduleKeyDeletion", "EnableKeyRotation"] {
        assert_eq!(
            kind(&kms, &me, op, json!({"KeyId": id})),
            "AccessDeniedException",
            "{op}"
        );
    }
    assert_eq!(
        kind(
            &kms,
            &me,
            "PutKeyPolicy",
            json!({"KeyId": id, "Policy": "{}"})
        ),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "DescribeKey",
            json!({"KeyId": "alias/aws/nonsense"})
        ),
        "NotFoundException"
    );
}

#[test]
fn tags_and_pagination() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "team", "TagValue": "a"}, {"TagKey": "env", "TagValue": "prod"}]}),
    );
    assert_eq!(
        kind(
            &kms,
            &me,
            "TagResource",
            json!({"KeyId": key, "Tags": [{"TagKey": "aws:x", "TagValue": "a"}]})
        ),
        "TagException"
    );
    let t = ok(
        &kms,
        &me,
        "ListResourceTags",
        json!({"KeyId": key, "Limit": 1}),
    );
    assert_eq!(t["Tags"], json!([{"TagKey": "env", "TagValue": "prod"}]));
    assert_eq!(t["Truncated"], true);
    let t2 = ok(
        &kms,
        &me,
        "ListResourceTags",
        json!({"KeyId": key, "Limit": 1, "Marker": t["NextMarker"]}),
    );
    assert_eq!(t2["Tags"], json!([{"TagKey": "team", "TagValue": "a"}]));
    assert_eq!(t2["Truncated"], false);
    ok(
        &kms,
        &me,
        "UntagResource",
        json!({"KeyId": key, "TagKeys": ["team"]}),
    );
    assert_eq!(kms.describe(&key).unwrap().tags.len(), 1);
    for _ in 0..4 {
        new_key(&kms, &me);
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut input = json!({"Limit": 2});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let page = ok(&kms, &me, "ListKeys", input);
        let keys = page["Keys"].as_array().unwrap();
        assert!(keys.len() <= 2);
        seen.extend(
            keys.iter()
                .map(|k| k["KeyId"].as_str().unwrap().to_string()),
        );
        match page["NextMarker"].as_str() {
            Some(m) => {
                assert_eq!(page["Truncated"], true);
                marker = Some(m.to_string());
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    assert_eq!(
        kind(&kms, &me, "ListKeys", json!({"Marker": "!!!"})),
        "InvalidMarkerException"
    );
    assert_eq!(
        kind(&kms, &me, "ListKeys", json!({"Limit": 0})),
        "ValidationException"
    );
    assert_eq!(
        kind(&kms, &me, "ListKeys", json!({"Limit": 1001})),
        "ValidationException"
    );
}

#[test]
fn wrong_root_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ks");
    let kms = Kms::open(&path, root()).unwrap();
    let me = Caller::local_admin(ACCOUNT);
    new_key(&kms, &me);
    drop(kms);
    let other = RootKey::from_hex(&"ab".repeat(32)).unwrap();
    let e = Kms::open(&path, other).unwrap_err();
    assert!(
        e.message.contains("was created with a different root key"),
        "{e}"
    );
    // The path is for the owner (the command line), never in the message.
    assert!(
        e.owner_message().contains(&path.display().to_string()),
        "{e}"
    );
    assert!(!e.message.contains(&path.display().to_string()), "{e:?}");
    // The right key still opens it.
    let kms = Kms::open(&path, root()).unwrap();
    assert_eq!(kms.list_keys().unwrap().len(), 1);
}

#[test]
fn store_options_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ks");
    let opts = StoreOptions {
        region: "eu-west-2".into(),
        account: OTHER.into(),
    };
    let kms = Kms::create(&path, root(), &opts).unwrap();
    let me = Caller::local_admin(OTHER);
    let out = ok(&kms, &me, "CreateKey", json!({"Description": "d"}));
    let arn = out["KeyMetadata"]["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with(&format!("arn:aws:kms:eu-west-2:{OTHER}:key/")),
        "{arn}"
    );
    assert_eq!(out["KeyMetadata"]["AWSAccountId"], OTHER);
    // Opening with defaults keeps the store's own region and account.
    let again = Kms::open(&path, root()).unwrap();
    assert_eq!(again.region().unwrap(), "eu-west-2");
    assert_eq!(again.account().unwrap(), OTHER);
    let e = Kms::create(&path, root(), &StoreOptions::default()).unwrap_err();
    assert_eq!(e.kind, "AlreadyExistsException");
    assert!(Kms::create(&path, root(), &opts).is_ok());
    // A caller of another account cannot create keys here.
    assert_eq!(
        kind(
            &again,
            &Caller::local_admin(ACCOUNT),
            "CreateKey",
            json!({})
        ),
        "AccessDeniedException"
    );
}

#[cfg(unix)]
#[test]
fn store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/a", "TargetKeyId": key}),
    );
    let dir = kms.path();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("keys")), 0o700);
    let mut files = 0;
    for sub in [dir.clone(), dir.join("keys")] {
        for e in std::fs::read_dir(&sub).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
                assert!(!p.file_name().unwrap().to_string_lossy().starts_with(".tmp"));
                files += 1;
            }
        }
    }
    assert!(
        files >= 5,
        "LOCK, config.json, GENERATION, aliases.json, one key"
    );
    // Key material is stored sealed: a data key's plaintext never appears.
    let out = ok(
        &kms,
        &me,
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    );
    let pt = out["Plaintext"].as_str().unwrap();
    let text = std::fs::read_to_string(dir.join("keys").join(format!("{key}.json"))).unwrap();
    assert!(!text.contains(pt));
    assert!(text.contains("material"));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let dk = kms
        .generate_data_key(&me, &key, &BTreeMap::new(), 32)
        .unwrap();
    let shown = format!("{dk:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains(&format!("{:?}", dk.plaintext.as_slice())));
    assert_eq!(format!("{:?}", root()), "RootKey(<redacted>)");
    let (plain, kid) = kms
        .decrypt_blob(&me, &dk.ciphertext_blob, &BTreeMap::new(), Some(&key))
        .unwrap();
    assert_eq!(plain.as_slice(), dk.plaintext.as_slice());
    assert_eq!(kid, dk.key_id);
}

#[test]
fn two_handles_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ks");
    let a = Kms::open(&path, root()).unwrap();
    let b = Kms::open(&path, root()).unwrap();
    let me = Caller::local_admin(ACCOUNT);
    let key = new_key(&a, &me);
    assert_eq!(b.describe(&key).unwrap().state.as_str(), "Enabled");
    ok(&b, &me, "DisableKey", json!({"KeyId": key}));
    assert_eq!(a.describe(&key).unwrap().state.as_str(), "Disabled");
    ok(
        &a,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/shared", "TargetKeyId": key}),
    );
    assert_eq!(b.describe("alias/shared").unwrap().key_id, key);
    // Writers in many threads of two handles: nothing is lost.
    let ids = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4 {
            let h = if t % 2 == 0 { &a } else { &b };
            let ids = &ids;
            let me = &me;
            s.spawn(move || {
                for _ in 0..5 {
                    let id = new_key(h, me);
                    ids.lock().unwrap().push(id);
                }
            });
        }
    });
    let all: Vec<String> = a
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.key_id)
        .collect();
    for id in ids.into_inner().unwrap() {
        assert!(all.contains(&id), "{id} lost");
    }
    assert_eq!(all.len(), 21);
}

#[test]
fn envelope_files() {
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/files", "TargetKeyId": key}),
    );
    let ctx = BTreeMap::from([("bucket".to_string(), "logs".to_string())]);
    for size in [0usize, 1, 65_535, 65_536, 65_537, 200_000] {
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let env = encrypt_envelope(&kms, &me, "alias/files", &data, &ctx).unwrap();
        assert_eq!(&env[..8], b"DBKMSENV");
        let (plain, kid) = decrypt_envelope_file(&kms, &me, &env, &ctx).unwrap();
        assert_eq!(plain, data, "size {size}");
        assert_eq!(kid.as_str(), key);
        assert_eq!(
            decrypt_envelope_file(&kms, &me, &env, &BTreeMap::new())
                .unwrap_err()
                .kind,
            "InvalidCiphertextException"
        );
        if size == 65_537 {
            // Flip bits across the file: header, wrapped key, every chunk, tags.
            for i in (0..env.len()).step_by(997).chain([env.len() - 1, 9, 20]) {
                let mut t = env.clone();
                t[i] ^= 0x04;
                assert!(
                    decrypt_envelope_file(&kms, &me, &t, &ctx).is_err(),
                    "byte {i}"
                );
            }
            // Truncation at a chunk boundary and anywhere else.
            for cut in [env.len() - 1, env.len() - 17, env.len() - 18, 100] {
                let e = decrypt_envelope_file(&kms, &me, &env[..cut], &ctx).unwrap_err();
                assert_eq!(e.kind, "InvalidCiphertextException", "cut {cut}: {e}");
            }
            let mut longer = env.clone();
            longer.extend_from_slice(&[0u8; 16]);
            assert!(decrypt_envelope_file(&kms, &me, &longer, &ctx).is_err());
        }
    }
    // The envelope follows the key's state.
    let env = encrypt_envelope(&kms, &me, &key, b"sample", &ctx).unwrap();
    ok(&kms, &me, "DisableKey", json!({"KeyId": key}));
    assert_eq!(
        decrypt_envelope_file(&kms, &me, &env, &ctx)
            .unwrap_err()
            .kind,
        "DisabledException"
    );
    assert_eq!(
        decrypt_envelope_file(&kms, &me, b"plain text", &ctx)
            .unwrap_err()
            .kind,
        "InvalidCiphertextException"
    );
}

#[test]
fn verifying_samples() {
    use deadbolt::kms::verify_sample;
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let other = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/data", "TargetKeyId": key}),
    );
    let ctx = BTreeMap::from([("table".to_string(), "orders".to_string())]);
    let env = encrypt_envelope(&kms, &me, &key, b"row 1\nrow 2\n", &ctx).unwrap();
    for claimed in [key.clone(), arn(&key), "alias/data".to_string()] {
        assert_eq!(
            verify_sample(&kms, &env, &claimed, &ctx).unwrap().as_str(),
            key
        );
    }
    let e = verify_sample(&kms, &env, &other, &ctx).unwrap_err();
    assert_eq!(e.kind, "IncorrectKeyException");
    assert!(e.message.contains(&key), "{e}");
    assert_eq!(
        verify_sample(&kms, &env, "alias/none", &ctx)
            .unwrap_err()
            .kind,
        "NotFoundException"
    );
    assert_eq!(
        verify_sample(&kms, &env, &key, &BTreeMap::new())
            .unwrap_err()
            .kind,
        "InvalidCiphertextException"
    );
    // The owner's check ignores the key policy, not the key state.
    let locked = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"}]});
    ok(
        &kms,
        &me,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": locked.to_string()}),
    );
    assert_eq!(
        decrypt_envelope_file(&kms, &me, &env, &ctx)
            .unwrap_err()
            .kind,
        "AccessDeniedException"
    );
    assert!(verify_sample(&kms, &env, &key, &ctx).is_ok());
    ok(&kms, &me, "DisableKey", json!({"KeyId": key}));
    assert_eq!(
        verify_sample(&kms, &env, &key, &ctx).unwrap_err().kind,
        "DisabledException"
    );
}

#[cfg(unix)]
#[test]
fn read_only_keystore_can_be_read() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = encrypt(&kms, &me, &key, b"x", json!({}));
    let dir = kms.path();
    drop(kms);
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    for f in ["LOCK", "GENERATION", "config.json"] {
        set(&dir.join(f), 0o400);
    }
    set(&dir.join("keys"), 0o500);
    set(&dir, 0o500);
    // Root ignores permissions; the test only means something for other users.
    let writable = std::fs::File::create(dir.join("probe")).is_ok();
    let kms = Kms::open(&dir, root()).unwrap();
    assert_eq!(kms.describe(&key).unwrap().key_id, key);
    assert_eq!(decrypt(&kms, &me, &blob, json!({})).unwrap(), b"x");
    if !writable {
        assert!(kms.call("CreateKey", &me, json!({})).is_err());
    }
    set(&dir, 0o700);
    set(&dir.join("keys"), 0o700);
}

#[test]
fn handles_are_send_sync_and_cheap_to_share() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Kms>();
    let (_d, kms, me) = open();
    let key = new_key(&kms, &me);
    let blob = encrypt(&kms, &me, &key, b"shared", json!({}));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let k = kms.clone();
            let (me, blob) = (&me, &blob);
            s.spawn(move || {
                for _ in 0..20 {
                    assert_eq!(decrypt(&k, me, blob, json!({})).unwrap(), b"shared");
                }
            });
        }
    });
}
