//! AWS KMS semantics that real clients and AWS's recorded responses showed:
//! DryRun, regions, RetireGrant permissions, rotation details, key material
//! ids, validation messages as AWS words them, and damage that stays local.
//! (Expected messages marked "recorded" are AWS's own, from the responses
//! LocalStack's test suite recorded against AWS: tests/aws/services/kms/
//! test_kms.snapshot.json, localstack@8b9a79f.)

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::{Caller, Kms, KmsError, RootKey, MAX_ON_DEMAND_ROTATIONS};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ROOT: &str = "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ACCOUNT: &str = "111122223333";

fn open() -> (tempfile::TempDir, Kms, Caller) {
    let dir = tempfile::tempdir().unwrap();
    let kms = Kms::open(&dir.path().join("ks"), RootKey::from_hex(ROOT).unwrap()).unwrap();
    kms.set_log(std::sync::Arc::new(|_: &str| {}));
    (
        dir,
        kms,
        Caller::local_admin(ACCOUNT).in_region("us-east-1"),
    )
}

fn ok(kms: &Kms, c: &Caller, op: &str, input: Value) -> Value {
    kms.call(op, c, input.clone())
        .unwrap_or_else(|e| panic!("{op} {input} failed: {e}"))
}

fn err(kms: &Kms, c: &Caller, op: &str, input: Value) -> KmsError {
    match kms.call(op, c, input.clone()) {
        Ok(v) => panic!("{op} {input} should fail, answered {v}"),
        Err(e) => e,
    }
}

fn kind_msg(e: KmsError) -> (&'static str, String) {
    (e.kind, e.message)
}

fn new_key(kms: &Kms, c: &Caller) -> (String, String) {
    let m = ok(kms, c, "CreateKey", json!({}))["KeyMetadata"].clone();
    (
        m["KeyId"].as_str().unwrap().to_string(),
        m["Arn"].as_str().unwrap().to_string(),
    )
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

fn user(name: &str) -> Caller {
    Caller::from_principal(&format!("arn:aws:iam::{ACCOUNT}:user/{name}")).in_region("us-east-1")
}

const DRY_RUN: &str = "The request would have succeeded, but the DryRun option is set.";

#[test]
fn dry_run_checks_everything_and_does_nothing() {
    let (_d, kms, me) = open();
    let (key, _) = new_key(&kms, &me);
    let blob = ok(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionContext": {"a": "1"}}),
    )["CiphertextBlob"]
        .clone();
    let grant = ok(
        &kms,
        &me,
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/g"),
               "RetiringPrincipal": format!("arn:aws:iam::{ACCOUNT}:user/r"),
               "Operations": ["Decrypt"]}),
    );
    let gid = grant["GrantId"].as_str().unwrap().to_string();
    let dry = |op: &str, mut input: Value| {
        input["DryRun"] = json!(true);
        let e = err(&kms, &me, op, input);
        assert_eq!(
            (e.kind, e.message.as_str(), e.status),
            ("DryRunOperationException", DRY_RUN, 400),
            "{op}"
        );
    };
    dry("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}));
    dry(
        "Decrypt",
        json!({"CiphertextBlob": blob, "EncryptionContext": {"a": "1"}}),
    );
    dry(
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"a": "1"}, "DestinationKeyId": key}),
    );
    dry(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    );
    dry(
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": key, "NumberOfBytes": 16}),
    );
    dry(
        "CreateGrant",
        json!({"KeyId": key, "GranteePrincipal": ACCOUNT, "Operations": ["Encrypt"]}),
    );
    dry("RevokeGrant", json!({"KeyId": key, "GrantId": gid}));
    dry("RetireGrant", json!({"KeyId": key, "GrantId": gid}));
    // Nothing happened: the grant is still there, no second grant exists.
    let grants = ok(&kms, &me, "ListGrants", json!({"KeyId": key}));
    assert_eq!(grants["Grants"].as_array().unwrap().len(), 1);
    assert_eq!(grants["Grants"][0]["GrantId"], gid.as_str());
    // Checks still run first: a wrong context, a disabled key, no permission.
    let e = err(
        &kms,
        &me,
        "Decrypt",
        json!({"CiphertextBlob": blob, "DryRun": true}),
    );
    assert_eq!(e.kind, "InvalidCiphertextException");
    // IGNORE_CIPHERTEXT checks only the permission to use the key.
    let e = err(
        &kms,
        &me,
        "Decrypt",
        json!({"CiphertextBlob": blob, "KeyId": key, "DryRun": true, "DryRunModifiers": ["IGNORE_CIPHERTEXT"]}),
    );
    assert_eq!(e.kind, "DryRunOperationException");
    ok(&kms, &me, "DisableKey", json!({"KeyId": key}));
    let e = err(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x"), "DryRun": true}),
    );
    assert_eq!(e.kind, "DisabledException");
    ok(&kms, &me, "EnableKey", json!({"KeyId": key}));
    let deny = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/mallory")}, "Action": "kms:Encrypt", "Resource": "*"}]});
    ok(
        &kms,
        &me,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": deny.to_string()}),
    );
    let e = err(
        &kms,
        &user("mallory"),
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x"), "DryRun": true}),
    );
    assert_eq!(e.kind, "AccessDeniedException");
    let e = err(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x"), "DryRun": "yes"}),
    );
    assert_eq!(e.kind, "SerializationException");
}

#[test]
fn retire_grant_permissions() {
    let (_d, kms, me) = open();
    let (key, _) = new_key(&kms, &me);
    let grant = |grantee: &str, ops: Value| {
        ok(
            &kms,
            &me,
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/{grantee}"),
                   "RetiringPrincipal": format!("arn:aws:iam::{ACCOUNT}:user/retirer"),
                   "Operations": ops}),
        )["GrantId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let retire = |who: &Caller, gid: &str| {
        kms.call("RetireGrant", who, json!({"KeyId": key, "GrantId": gid}))
    };
    // The retiring principal may.
    let g = grant("a", json!(["Decrypt"]));
    retire(&user("retirer"), &g).unwrap();
    // A grantee holding RetireGrant may; one without it may not.
    let g = grant("b", json!(["Decrypt", "RetireGrant"]));
    retire(&user("b"), &g).unwrap();
    // Another account's principal may not (its grantee lacks RetireGrant).
    let g = grant("c", json!(["Decrypt"]));
    let stranger =
        Caller::from_principal("arn:aws:iam::444455556666:user/c").in_region("us-east-1");
    let e = retire(&stranger, &g).unwrap_err();
    assert_eq!(e.kind, "NotFoundException", "{e:?}");
    // Any principal of the key's account whom the key policy delegates to
    // (the default key policy: IAM permissions, taken as held here) may.
    retire(&user("someone-else"), &g).unwrap();
    // With a key policy that allows the account nothing but administration,
    // an unrelated user of the account may not.
    let g = grant("d", json!(["Decrypt"]));
    let admin_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
         "Action": ["kms:PutKeyPolicy", "kms:ListGrants"], "Resource": "*"}]});
    ok(
        &kms,
        &me,
        "PutKeyPolicy",
        json!({"KeyId": key, "Policy": admin_only.to_string(), "BypassPolicyLockoutSafetyCheck": true}),
    );
    let e = retire(&user("someone-else"), &g).unwrap_err();
    assert_eq!(e.kind, "AccessDeniedException", "{e:?}");
    // ... while the retiring principal still may.
    retire(&user("retirer"), &g).unwrap();
    assert!(ok(&kms, &me, "ListGrants", json!({"KeyId": key}))["Grants"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn rotation_details_and_key_material_ids() {
    let (_d, kms, me) = open();
    let (key, arn) = new_key(&kms, &me);
    let describe = || ok(&kms, &me, "DescribeKey", json!({"KeyId": key}))["KeyMetadata"].clone();
    let m0 = describe()["CurrentKeyMaterialId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(m0.len(), 64);
    assert!(m0.bytes().all(|b| b.is_ascii_hexdigit()));
    let blob = ok(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"before")}),
    )["CiphertextBlob"]
        .clone();
    ok(&kms, &me, "EnableKeyRotation", json!({"KeyId": key}));
    let before = ok(&kms, &me, "GetKeyRotationStatus", json!({"KeyId": key}));
    // RotateKeyOnDemand answers the key ARN (recorded), leaves the automatic
    // schedule alone, and is complete when it answers: no start date shown.
    let r = ok(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key}));
    assert_eq!(r, json!({"KeyId": arn}));
    let after = ok(&kms, &me, "GetKeyRotationStatus", json!({"KeyId": key}));
    assert_eq!(after["NextRotationDate"], before["NextRotationDate"]);
    assert!(after.get("OnDemandRotationStartDate").is_none(), "{after}");
    assert_eq!(
        after.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "KeyId",
            "KeyRotationEnabled",
            "NextRotationDate",
            "RotationPeriodInDays"
        ]
    );
    let m1 = describe()["CurrentKeyMaterialId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(m0, m1, "CurrentKeyMaterialId changes on rotation");
    // Decrypt names the material that decrypted; ReEncrypt both.
    let d = ok(&kms, &me, "Decrypt", json!({"CiphertextBlob": blob}));
    assert_eq!(d["KeyMaterialId"], m0.as_str());
    let re = ok(
        &kms,
        &me,
        "ReEncrypt",
        json!({"CiphertextBlob": blob, "DestinationKeyId": key}),
    );
    assert_eq!(re["SourceKeyMaterialId"], m0.as_str());
    assert_eq!(re["DestinationKeyMaterialId"], m1.as_str());
    let rot = ok(&kms, &me, "ListKeyRotations", json!({"KeyId": key}));
    assert_eq!(rot["Rotations"][0]["KeyMaterialId"], m1.as_str());
    // The on-demand limit is AWS's (10), with AWS's message (recorded).
    assert_eq!(MAX_ON_DEMAND_ROTATIONS, 10);
    for _ in 1..MAX_ON_DEMAND_ROTATIONS {
        ok(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key}));
    }
    assert_eq!(
        kind_msg(err(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key}))),
        (
            "LimitExceededException",
            format!(
                "The on-demand rotations limit has been reached for the given keyId. No more \
                 on-demand rotations can be performed for this key: {arn}"
            )
        )
    );
    // Every ciphertext still decrypts.
    let d = ok(&kms, &me, "Decrypt", json!({"CiphertextBlob": blob}));
    assert_eq!(d["Plaintext"], b64(b"before"));
}

#[test]
fn validation_messages_as_aws_words_them() {
    let (_d, kms, me) = open();
    let (key, arn) = new_key(&kms, &me);
    let tags = |t: Value| json!({"KeyId": key, "Tags": t});
    let cases: Vec<(&str, Value, &str, String)> = vec![
        (
            "TagResource",
            tags(json!([{"TagKey": "tag1", "TagValue": "value1"}, {"TagKey": "tag1", "TagValue": "v2"}])),
            "TagException",
            "Duplicate tag keys".into(),
        ),
        (
            "TagResource",
            tags(json!([{"TagKey": "aws:key1", "TagValue": "value1"}])),
            "TagException",
            "Tags beginning with aws: are reserved".into(),
        ),
        (
            "CreateKey",
            json!({"Tags": [{"TagKey": "AWS:key1", "TagValue": "v"}]}),
            "TagException",
            "Tags beginning with aws: are reserved".into(),
        ),
        (
            "CreateKey",
            json!({"Tags": (0..51).map(|i| json!({"TagKey": format!("key{i}"), "TagValue": "v"})).collect::<Vec<_>>()}),
            "TagException",
            "Too many tags".into(),
        ),
        (
            "CreateKey",
            json!({"Tags": [{"TagKey": "tag1", "TagValue": "v".repeat(257)}]}),
            "ValidationException",
            format!("1 validation error detected: Value '{}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256", "v".repeat(257)),
        ),
        (
            "CreateKey",
            json!({"Tags": [{"TagKey": "ok", "TagValue": "v"}, {"TagKey": "a".repeat(129), "TagValue": "v"}]}),
            "ValidationException",
            format!("1 validation error detected: Value '{}' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128", "a".repeat(129)),
        ),
        (
            "DescribeKey",
            json!({"KeyId": "fake-key-id"}),
            "NotFoundException",
            "Invalid keyId 'fake-key-id'".into(),
        ),
        (
            "DescribeKey",
            json!({"KeyId": "134f2428-cec1-4b25-a1ae-9048164dba47"}),
            "NotFoundException",
            format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/134f2428-cec1-4b25-a1ae-9048164dba47' does not exist"),
        ),
        (
            "CreateAlias",
            json!({"AliasName": "no-prefix", "TargetKeyId": key}),
            "ValidationException",
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into(),
        ),
        (
            "GenerateRandom",
            json!({}),
            "ValidationException",
            "NumberOfBytes is required.".into(),
        ),
        (
            "GenerateRandom",
            json!({"NumberOfBytes": 1025}),
            "ValidationException",
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024".into(),
        ),
        (
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(&[b'x'; 4097])}),
            "ValidationException",
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096".into(),
        ),
        (
            "CreateKey",
            json!({"KeyUsage": "RANDOM"}),
            "ValidationException",
            "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC]".into(),
        ),
        (
            "CreateKey",
            json!({"KeySpec": "HMAC_256"}),
            "ValidationException",
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.".into(),
        ),
        (
            "GenerateMac",
            json!({"KeyId": key, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
            "InvalidKeyUsageException",
            format!("{arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."),
        ),
        (
            "RotateKeyOnDemand",
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
            "NotFoundException",
            format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"),
        ),
    ];
    for (op, input, kind, message) in cases {
        assert_eq!(
            kind_msg(err(&kms, &me, op, input.clone())),
            (kind, message),
            "{op} {input}"
        );
    }
    // InvalidCiphertextException has AWS's empty message; the reason is the
    // owner's (the detail), never the client's.
    let blob = ok(
        &kms,
        &me,
        "Encrypt",
        json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionContext": {"a": "1"}}),
    )["CiphertextBlob"]
        .clone();
    let e = err(&kms, &me, "Decrypt", json!({"CiphertextBlob": blob}));
    assert_eq!(
        (e.kind, e.message.as_str()),
        ("InvalidCiphertextException", "")
    );
    assert!(e.detail.unwrap().contains("encryption context"));
    let (other, _) = new_key(&kms, &me);
    let e = err(
        &kms,
        &me,
        "Decrypt",
        json!({"CiphertextBlob": blob, "KeyId": other, "EncryptionContext": {"a": "1"}}),
    );
    assert_eq!(
        kind_msg(e),
        (
            "IncorrectKeyException",
            "The key ID in the request does not identify a CMK that can perform this operation."
                .into()
        )
    );
    ok(&kms, &me, "DisableKey", json!({"KeyId": key}));
    assert_eq!(
        kind_msg(err(&kms, &me, "RotateKeyOnDemand", json!({"KeyId": key}))),
        ("DisabledException", format!("{arn} is disabled."))
    );
}

#[test]
fn keys_and_aliases_live_in_their_region() {
    let (_d, kms, me) = open();
    let eu = Caller::local_admin(ACCOUNT).in_region("eu-west-1");
    let (key, arn) = new_key(&kms, &eu);
    assert_eq!(arn, format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key}"));
    ok(
        &kms,
        &eu,
        "CreateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": key}),
    );
    // Recorded: by id from another region, the ARN of the caller's region;
    // by ARN, "Invalid arn REGION".
    assert_eq!(
        kind_msg(err(&kms, &me, "DescribeKey", json!({"KeyId": key}))),
        (
            "NotFoundException",
            format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}' does not exist")
        )
    );
    assert_eq!(
        kind_msg(err(&kms, &me, "DescribeKey", json!({"KeyId": arn}))),
        ("NotFoundException", "Invalid arn eu-west-1".into())
    );
    assert_eq!(
        err(&kms, &me, "DescribeKey", json!({"KeyId": "alias/app"})).kind,
        "NotFoundException"
    );
    let meta = ok(&kms, &eu, "DescribeKey", json!({"KeyId": "alias/app"}));
    assert_eq!(meta["KeyMetadata"]["Arn"], arn.as_str());
    let aliases = ok(&kms, &eu, "ListAliases", json!({}));
    assert_eq!(
        aliases["Aliases"][0]["AliasArn"],
        format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app")
    );
    assert!(ok(&kms, &me, "ListAliases", json!({}))["Aliases"]
        .as_array()
        .unwrap()
        .is_empty());
    let listed = |c: &Caller| {
        ok(&kms, c, "ListKeys", json!({}))["Keys"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!((listed(&eu), listed(&me)), (1, 0));
    // A ciphertext of a key in another region does not decrypt there.
    let blob = ok(
        &kms,
        &eu,
        "Encrypt",
        json!({"KeyId": "alias/app", "Plaintext": b64(b"x")}),
    )["CiphertextBlob"]
        .clone();
    assert_eq!(
        err(&kms, &me, "Decrypt", json!({"CiphertextBlob": blob})).kind,
        "InvalidCiphertextException"
    );
    ok(&kms, &eu, "Decrypt", json!({"CiphertextBlob": blob}));
    // The same alias name in the home region names another key.
    let (home, _) = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": home}),
    );
    assert_eq!(kms.describe("alias/app").unwrap().key_id, home);
    // The in-process view (the policy engine) finds keys by id in any region.
    let info = kms.describe(&key).unwrap();
    assert_eq!(
        (info.region.as_str(), info.arn.as_str()),
        ("eu-west-1", arn.as_str())
    );
    assert_eq!(
        kms.describe(&format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app"))
            .unwrap()
            .key_id,
        key
    );
}

#[test]
fn a_damaged_or_altered_record_fails_only_its_key() {
    let (d, kms, me) = open();
    let (good, _) = new_key(&kms, &me);
    let (bad, bad_arn) = new_key(&kms, &me);
    ok(
        &kms,
        &me,
        "CreateAlias",
        json!({"AliasName": "alias/bad", "TargetKeyId": bad}),
    );
    let file = d.path().join("ks/keys").join(format!("{bad}.json"));
    // Flip one character of the stored key policy.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("kms:*", "kms:&", 1)).unwrap();
    // Another handle (as a server would be) reads the changed file.
    let other = Kms::open(&d.path().join("ks"), RootKey::from_hex(ROOT).unwrap()).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    other.set_log(std::sync::Arc::new(move |m: &str| {
        sink.lock().unwrap().push(m.into())
    }));
    std::fs::write(d.path().join("ks/GENERATION"), b"1000\n").unwrap();
    for (op, input) in [
        ("DescribeKey", json!({"KeyId": bad})),
        ("DescribeKey", json!({"KeyId": "alias/bad"})),
        ("Encrypt", json!({"KeyId": bad, "Plaintext": b64(b"x")})),
        ("DisableKey", json!({"KeyId": bad})),
    ] {
        let e = err(&other, &me, op, input);
        assert_eq!(e.kind, "KMSInternalException", "{op}");
        assert_eq!(e.status, 500);
        assert_eq!(
            e.message,
            format!("Key '{bad_arn}' cannot be used: its record in the keystore is damaged or was altered")
        );
        assert!(!e.message.contains(&*d.path().to_string_lossy()));
        assert!(e.detail.unwrap().contains(&file.display().to_string()));
    }
    let keys = ok(&other, &me, "ListKeys", json!({}));
    assert_eq!(keys["Keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys["Keys"][0]["KeyId"], good.as_str());
    ok(
        &other,
        &me,
        "Encrypt",
        json!({"KeyId": good, "Plaintext": b64(b"x")}),
    );
    ok(&other, &me, "CreateKey", json!({}));
    // The damage was reported once, with the path; the file is left as it was.
    let reports: Vec<String> = seen.lock().unwrap().clone();
    let damage: Vec<&String> = reports.iter().filter(|m| m.contains("altered")).collect();
    assert_eq!(damage.len(), 1, "{reports:?}");
    assert!(damage[0].contains(&file.display().to_string()));
    assert!(std::fs::read_to_string(&file).unwrap().contains("kms:&"));
    assert_eq!(other.damaged_keys().unwrap().len(), 1);
}
