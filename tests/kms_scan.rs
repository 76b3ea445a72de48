//! End to end: a keystore made with `deadbolt kms`, data encrypted with
//! `encrypt-file`, then `deadbolt scan --keystore --samples` judging the claims.

use std::path::Path;

use assert_cmd::Command;

const ROOT: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn deadbolt(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("deadbolt")
        .expect("binary")
        .current_dir(dir)
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT)
        .env_remove("DEADBOLT_KMS_KEYSTORE")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = deadbolt(dir, args);
    assert_eq!(code, 0, "deadbolt {args:?}: {err}");
    out
}

const TEMPLATE: &str = "Resources:
  DataBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: alias/data}
  LeakyBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, KMSMasterKeyID: alias/data}
  OldVolume:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: true, KmsKeyId: alias/old}
  GoneVolume:
    Type: AWS::EC2::Volume
    Properties: {Size: 1, Encrypted: true, KmsKeyId: alias/never-created}
";

const SAMPLES: &str = "samples:
  - resource: DataBucket
    file: data.enc
    key: alias/data
    context: {bucket: data}
  - resource: LeakyBucket
    file: plain.csv
    key: alias/data
    context: {bucket: data}
";

#[test]
fn claims_are_checked_against_a_cli_made_keystore() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["kms", "--keystore", "ks", "init"]);
    let created = ok(
        dir,
        &[
            "kms",
            "--keystore",
            "ks",
            "create-key",
            "--alias",
            "alias/data",
            "--rotation",
        ],
    );
    assert!(created.contains("arn:aws:kms:"), "{created}");
    ok(
        dir,
        &[
            "kms",
            "--keystore",
            "ks",
            "create-key",
            "--alias",
            "alias/old",
        ],
    );
    ok(
        dir,
        &["kms", "--keystore", "ks", "disable-key", "alias/old"],
    );
    std::fs::write(dir.join("plain.csv"), "id,card\n1,4111111111111111\n").unwrap();
    ok(
        dir,
        &[
            "kms",
            "--keystore",
            "ks",
            "encrypt-file",
            "--key",
            "alias/data",
            "--context",
            "bucket=data",
            "--in",
            "plain.csv",
            "--out",
            "data.enc",
        ],
    );
    std::fs::write(dir.join("t.yaml"), TEMPLATE).unwrap();
    std::fs::write(dir.join("samples.yaml"), SAMPLES).unwrap();

    let (code, out, err) = deadbolt(
        dir,
        &[
            "scan",
            "t.yaml",
            "--keystore",
            "ks",
            "--samples",
            "samples.yaml",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let get = |policy: &str, resource: &str| -> (String, u64) {
        let r = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == policy && r["resource"] == resource)
            .unwrap_or_else(|| panic!("no {policy} result for {resource}: {out}"));
        (
            r["status"].as_str().unwrap().to_string(),
            r["line"].as_u64().unwrap(),
        )
    };
    assert_eq!(get("kms-sample-decrypts", "DataBucket"), ("pass".into(), 2));
    assert_eq!(
        get("kms-sample-decrypts", "LeakyBucket"),
        ("fail".into(), 8)
    );
    assert_eq!(
        get("kms-claimed-key-usable", "DataBucket"),
        ("pass".into(), 2)
    );
    assert_eq!(
        get("kms-claimed-key-usable", "OldVolume"),
        ("fail".into(), 16)
    );
    assert_eq!(
        get("kms-claimed-key-usable", "GoneVolume"),
        ("fail".into(), 19)
    );
    assert_eq!(
        get("kms-customer-managed-key", "OldVolume"),
        ("pass".into(), 14)
    );

    // Without the keystore, the same claims cannot be proven either way.
    let (_, out, _) = deadbolt(
        dir,
        &[
            "scan",
            "t.yaml",
            "--samples",
            "samples.yaml",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sample = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "kms-sample-decrypts" && r["resource"] == "DataBucket")
        .unwrap();
    assert_eq!(sample["status"], "unknown");

    // A wrong root key is a clear error, not garbage.
    let out = Command::cargo_bin("deadbolt")
        .unwrap()
        .current_dir(dir)
        .env("DEADBOLT_KMS_ROOT_KEY", "ff".repeat(32))
        .args(["scan", "t.yaml", "--keystore", "ks"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("different root key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
