//! The checked-in keystore fixture (`fixtures/kms/`): it opens with the
//! documented test root key, holds the documented keys and states, its samples
//! verify (or fail) as documented, and reading it changes no file.
//!
//! Regenerate it with `cargo test --test kms_fixtures -- --ignored regenerate`
//! (new key ids: update fixtures/kms/README.md and whatever refers to them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use deadbolt::kms::envelope::encrypt_envelope;
use deadbolt::kms::{verify_sample, Caller, Kms, RootKey};

/// The fixture's root key. For tests only: never use it for real data.
const ROOT: &str = "7465737420726f6f74206b657920666f722064656164626f6c74206669787475";
const ACCOUNT: &str = "111122223333";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kms")
}

fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hashes(dir: &Path) -> BTreeMap<PathBuf, [u8; 32]> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), Sha256::digest(std::fs::read(&p).unwrap()).into());
            }
        }
    }
    out
}

#[test]
fn fixture_keystore_is_as_documented() {
    let dir = fixture_dir();
    let store = dir.join("keystore");
    let before = hashes(&dir);
    let kms = Kms::open(&store, RootKey::from_hex(ROOT).unwrap()).expect("the fixture opens");
    let state = |alias: &str| kms.describe(alias).unwrap().state.as_str().to_string();
    assert_eq!(state("alias/app-data"), "Enabled");
    assert_eq!(state("alias/no-rotation"), "Enabled");
    assert_eq!(state("alias/disabled"), "Disabled");
    assert_eq!(state("alias/pending-deletion"), "PendingDeletion");
    assert_eq!(state("alias/open-policy"), "Enabled");
    assert_eq!(state("alias/finance-only"), "Enabled");
    assert!(kms.describe("alias/app-data").unwrap().rotation_enabled);
    assert!(!kms.describe("alias/no-rotation").unwrap().rotation_enabled);
    assert_eq!(kms.list_keys().unwrap().len(), 6);
    let open = kms.describe("alias/open-policy").unwrap();
    let p = deadbolt::kms::policy::KeyPolicy::parse(open.policy.as_deref().unwrap()).unwrap();
    assert_eq!(
        p.unconditional_public_allows(),
        vec!["open-to-everyone".to_string()]
    );
    let alice = "arn:aws:iam::111122223333:user/alice";
    let bob = "arn:aws:iam::444455556666:user/bob";
    let fin = ctx(&[("dept", "finance")]);
    assert!(kms
        .policy_allows("alias/finance-only", alice, "kms:Decrypt", &fin)
        .unwrap());
    assert!(!kms
        .policy_allows(
            "alias/finance-only",
            alice,
            "kms:Decrypt",
            &ctx(&[("dept", "hr")])
        )
        .unwrap());
    assert!(kms
        .policy_allows("alias/finance-only", bob, "kms:Decrypt", &fin)
        .unwrap());
    assert!(!kms
        .policy_allows("alias/finance-only", bob, "kms:Encrypt", &fin)
        .unwrap());
    assert!(!kms
        .policy_allows("alias/app-data", bob, "kms:Decrypt", &fin)
        .unwrap());

    let samples = dir.join("samples");
    let sample = |f: &str| std::fs::read(samples.join(f)).unwrap();
    let app = ctx(&[("bucket", "app-data")]);
    assert!(verify_sample(&kms, &sample("app-data.enc"), "alias/app-data", &app).is_ok());
    assert!(verify_sample(&kms, &sample("no-context.enc"), "alias/app-data", &ctx(&[])).is_ok());
    let kind = |f: &str, key: &str, c: &BTreeMap<String, String>| {
        verify_sample(&kms, &sample(f), key, c).unwrap_err().kind
    };
    assert_eq!(
        kind("app-data.enc", "alias/app-data", &ctx(&[("bucket", "x")])),
        "InvalidCiphertextException"
    );
    assert_eq!(
        kind("app-data.enc", "alias/no-rotation", &app),
        "IncorrectKeyException"
    );
    assert_eq!(
        kind("tampered.enc", "alias/app-data", &app),
        "InvalidCiphertextException"
    );
    assert_eq!(
        kind("not-encrypted.txt", "alias/app-data", &app),
        "InvalidCiphertextException"
    );
    assert_eq!(
        kind("disabled.enc", "alias/disabled", &ctx(&[("bucket", "old")])),
        "DisabledException"
    );
    assert_eq!(
        kind(
            "pending-deletion.enc",
            "alias/pending-deletion",
            &ctx(&[("bucket", "old")])
        ),
        "KMSInvalidStateException"
    );
    assert_eq!(
        kind("app-data.enc", "alias/nonexistent", &app),
        "NotFoundException"
    );
    drop(kms);
    assert_eq!(before, hashes(&dir), "reading the fixture changed a file");
}

#[test]
#[ignore = "rewrites fixtures/kms; run by hand"]
fn regenerate() {
    let dir = fixture_dir();
    let store = dir.join("keystore");
    let samples = dir.join("samples");
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&samples);
    std::fs::create_dir_all(&samples).unwrap();
    let kms = Kms::open(&store, RootKey::from_hex(ROOT).unwrap()).unwrap();
    let me = Caller::local_admin(ACCOUNT);
    let call = |op: &str, v: serde_json::Value| kms.call(op, &me, v).unwrap();
    let key = |alias: &str, desc: &str| {
        let id = call("CreateKey", json!({"Description": desc}))["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        call(
            "CreateAlias",
            json!({"AliasName": alias, "TargetKeyId": id}),
        );
        id
    };
    let write = |name: &str, bytes: &[u8]| std::fs::write(samples.join(name), bytes).unwrap();
    let old = ctx(&[("bucket", "old")]);

    // First, while no key rotates: a key pending deletion until far in the
    // future (the API allows 7–30 days, so the clock is moved for this step).
    let pending = key("alias/pending-deletion", "scheduled for deletion");
    write(
        "pending-deletion.enc",
        &encrypt_envelope(&kms, &me, &pending, b"old data\n", &old).unwrap(),
    );
    kms.advance_clock(50.0 * 365.0 * 86_400.0);
    call(
        "ScheduleKeyDeletion",
        json!({"KeyId": pending, "PendingWindowInDays": 30}),
    );
    kms.advance_clock(-50.0 * 365.0 * 86_400.0);

    let app = key("alias/app-data", "application data");
    call("EnableKeyRotation", json!({"KeyId": app}));
    let app_ctx = ctx(&[("bucket", "app-data")]);
    let env = encrypt_envelope(&kms, &me, &app, b"id,amount\n1,100\n2,250\n", &app_ctx).unwrap();
    write("app-data.enc", &env);
    let mut tampered = env.clone();
    let at = tampered.len() - 20;
    tampered[at] ^= 0x01;
    write("tampered.enc", &tampered);
    write(
        "no-context.enc",
        &encrypt_envelope(&kms, &me, &app, b"no context\n", &ctx(&[])).unwrap(),
    );
    write("not-encrypted.txt", b"id,amount\n1,100\n");

    key("alias/no-rotation", "never rotated");

    let disabled = key("alias/disabled", "disabled key");
    write(
        "disabled.enc",
        &encrypt_envelope(&kms, &me, &disabled, b"old data\n", &old).unwrap(),
    );
    call("DisableKey", json!({"KeyId": disabled}));

    let open = key("alias/open-policy", "policy open to everyone");
    let open_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "open-to-everyone", "Effect": "Allow", "Principal": "*",
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}
        ]
    });
    call(
        "PutKeyPolicy",
        json!({"KeyId": open, "Policy": serde_json::to_string_pretty(&open_policy).unwrap()}),
    );

    let fin = key(
        "alias/finance-only",
        "finance data; alice decrypts finance only; bob by grant",
    );
    let fin_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Key administrators", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
             "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                        "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                        "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                        "kms:RotateKeyOnDemand"],
             "Resource": "*"},
            {"Sid": "Deny use outside finance", "Effect": "Deny",
             "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
             "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:EncryptionContext:dept": "finance"}}},
            {"Sid": "Alice uses the key", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
             "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*"}
        ]
    });
    call(
        "PutKeyPolicy",
        json!({"KeyId": fin, "Policy": serde_json::to_string_pretty(&fin_policy).unwrap()}),
    );
    call(
        "CreateGrant",
        json!({"KeyId": fin, "GranteePrincipal": "arn:aws:iam::444455556666:user/bob",
               "Operations": ["Decrypt"], "Name": "bob-reads-finance",
               "Constraints": {"EncryptionContextSubset": {"dept": "finance"}}}),
    );
    println!("pending-deletion {pending}\napp-data {app}\ndisabled {disabled}\nopen-policy {open}\nfinance-only {fin}");
}
