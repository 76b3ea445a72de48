//! `deadbolt kms` from the command line: key management, encrypt/decrypt,
//! envelope files, root keys, and the `error: <AWS error>: ...` / exit 2 contract.

use std::path::Path;

use assert_cmd::Command;

const ROOT: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn kms(store: &Path) -> Command {
    let mut c = Command::cargo_bin("deadbolt").unwrap();
    c.arg("kms")
        .arg("--keystore")
        .arg(store)
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT)
        .env_remove("DEADBOLT_KMS_ROOT_KEY_FILE")
        .env_remove("DEADBOLT_KMS_KEYSTORE");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Out {
    let o = c.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn create_key(store: &Path, extra: &[&str]) -> (String, String) {
    let o = run(kms(store).arg("create-key").args(extra));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut parts = o.stdout.split_whitespace();
    let id = parts.next().unwrap().to_string();
    let arn = parts.next().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:kms:us-east-1:111122223333:key/{id}"));
    (id, arn)
}

#[test]
fn errors_are_aws_errors_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let o = run(kms(&store).args(["describe-key", "alias/missing"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: NotFoundException: Alias arn:aws:kms:us-east-1:111122223333:alias/missing is not found."),
        "{}",
        o.stderr
    );
    let (id, _) = create_key(&store, &[]);
    let o = run(kms(&store).args(["schedule-deletion", &id, "--days", "6"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: ValidationException: "),
        "{}",
        o.stderr
    );
    let o = run(kms(&store).args(["call", "NoSuchOperation", "{}"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: UnknownOperationException: "),
        "{}",
        o.stderr
    );
    let o = run(kms(&store).args(["create-alias", "alias/aws/x", &id]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: NotAuthorizedException: "),
        "{}",
        o.stderr
    );
}

#[test]
fn root_key_sources() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let mut c = kms(&store);
    c.env_remove("DEADBOLT_KMS_ROOT_KEY").arg("list-keys");
    let o = run(&mut c);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("DEADBOLT_KMS_ROOT_KEY"), "{}", o.stderr);
    let o = run(kms(&store)
        .env("DEADBOLT_KMS_ROOT_KEY", "abc")
        .arg("list-keys"));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("64 hex digits"), "{}", o.stderr);

    let keyfile = d.path().join("root.key");
    let o = run(kms(&store).arg("new-root-key").arg(&keyfile));
    assert_eq!(o.code, 0, "{}", o.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keyfile).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&keyfile).unwrap();
    let o = run(kms(&store).arg("new-root-key").arg(&keyfile));
    assert_eq!(o.code, 2, "never overwrites");
    assert_eq!(std::fs::read(&keyfile).unwrap(), before);

    // A store made with the file's key; the env key is a different one.
    let store2 = d.path().join("ks2");
    let o = run(kms(&store2)
        .env_remove("DEADBOLT_KMS_ROOT_KEY")
        .arg("--root-key-file")
        .arg(&keyfile)
        .arg("create-key"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(kms(&store2).arg("list-keys"));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("was created with a different root key"),
        "{}",
        o.stderr
    );
    let o = run(kms(&store2)
        .env_remove("DEADBOLT_KMS_ROOT_KEY")
        .env("DEADBOLT_KMS_ROOT_KEY_FILE", &keyfile)
        .arg("list-keys"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keyfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = run(kms(&store2)
            .arg("--root-key-file")
            .arg(&keyfile)
            .arg("list-keys"));
        assert_eq!(o.code, 2);
        assert!(o.stderr.contains("chmod 600"), "{}", o.stderr);
    }
}

#[test]
fn encrypt_and_decrypt() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (id, _) = create_key(
        &store,
        &["--description", "app", "--alias", "alias/app", "--rotation"],
    );
    let o = run(kms(&store)
        .args([
            "encrypt",
            "--key",
            "alias/app",
            "--context",
            "app=web",
            "-c",
            "env=prod",
        ])
        .write_stdin("top secret"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let blob = o.stdout.trim().to_string();
    let o = run(kms(&store)
        .args(["decrypt", "-c", "env=prod", "-c", "app=web"])
        .write_stdin(blob.clone()));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "top secret");
    let o = run(kms(&store)
        .args(["decrypt", "-c", "app=web"])
        .write_stdin(blob.clone()));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: InvalidCiphertextException: "),
        "{}",
        o.stderr
    );
    let (other, _) = create_key(&store, &[]);
    let o = run(kms(&store)
        .args([
            "decrypt", "--key", &other, "-c", "app=web", "-c", "env=prod",
        ])
        .write_stdin(blob.clone()));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: IncorrectKeyException: "),
        "{}",
        o.stderr
    );
    // Rotation and management verbs.
    assert_eq!(run(kms(&store).args(["rotate", "alias/app"])).code, 0);
    let o = run(kms(&store).args(["rotation-status", &id]));
    assert!(
        o.stdout.contains("\"KeyRotationEnabled\": true"),
        "{}",
        o.stdout
    );
    assert_eq!(
        run(kms(&store).args(["disable-key", "--key", "alias/app"])).code,
        0
    );
    let o = run(kms(&store)
        .args(["decrypt", "-c", "app=web", "-c", "env=prod"])
        .write_stdin(blob.clone()));
    assert!(
        o.stderr.starts_with("error: DisabledException: "),
        "{}",
        o.stderr
    );
    assert_eq!(run(kms(&store).args(["enable-key", &id])).code, 0);
    let out = d.path().join("plain.txt");
    let o = run(kms(&store)
        .args(["decrypt", "-c", "app=web", "-c", "env=prod", "--out"])
        .arg(&out)
        .write_stdin(blob));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "top secret");
    let o = run(kms(&store).arg("list-keys"));
    assert!(o.stdout.contains(&format!("{id}  Enabled")), "{}", o.stdout);
    assert!(o.stdout.contains("alias/app"), "{}", o.stdout);
    let o = run(kms(&store).args(["list-aliases"]));
    assert_eq!(o.stdout.trim(), format!("alias/app  {id}"));
    let o = run(kms(&store).args(["call", "ListKeys", r#"{"Limit": 1}"#]));
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["Truncated"], true);
    // Too much plaintext for Encrypt.
    let o = run(kms(&store)
        .args(["encrypt", "--key", &id])
        .write_stdin(vec![b'x'; 4097]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: ValidationException: "),
        "{}",
        o.stderr
    );
}

#[test]
fn envelope_files() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (id, _) = create_key(&store, &["--alias", "alias/files"]);
    let input = d.path().join("data.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let enc = d.path().join("data.enc");
    let o = run(kms(&store)
        .args([
            "encrypt-file",
            "--key",
            "alias/files",
            "--context",
            "bucket=logs",
        ])
        .arg(&input)
        .arg(&enc));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(&id), "{}", o.stderr);
    let bytes = std::fs::read(&enc).unwrap();
    assert_eq!(&bytes[..8], b"DBKMSENV");
    let dec = d.path().join("data.out");
    let o = run(kms(&store).arg("decrypt-file").arg(&enc).arg(&dec));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read(&dec).unwrap(), data);
    let o = run(kms(&store)
        .args(["decrypt-file", "--context", "bucket=logs"])
        .arg(&enc)
        .arg(&dec));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A wrong context or a damaged file: error, and OUT is left as it was.
    std::fs::write(&dec, b"previous").unwrap();
    let o = run(kms(&store)
        .args(["decrypt-file", "--context", "bucket=other"])
        .arg(&enc)
        .arg(&dec));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: InvalidCiphertextException: "),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read(&dec).unwrap(), b"previous");
    let mut damaged = bytes.clone();
    let last = damaged.len() - 5;
    damaged[last] ^= 1;
    let bad = d.path().join("bad.enc");
    std::fs::write(&bad, &damaged).unwrap();
    let o = run(kms(&store).arg("decrypt-file").arg(&bad).arg(&dec));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("failed to authenticate"), "{}", o.stderr);
    assert_eq!(std::fs::read(&dec).unwrap(), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".deadbolt-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let o = run(kms(&store).arg("decrypt-file").arg(&input).arg(&dec));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("not a deadbolt envelope file"),
        "{}",
        o.stderr
    );
}

#[test]
fn init_and_default_keystore() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("eu");
    let o = run(kms(&store).args([
        "init",
        "--region",
        "eu-central-1",
        "--account",
        "444455556666",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(kms(&store).arg("create-key"));
    assert!(
        o.stdout
            .contains("arn:aws:kms:eu-central-1:444455556666:key/"),
        "{}",
        o.stdout
    );
    let o = run(kms(&store).args(["init", "--region", "us-west-2"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("error: AlreadyExistsException: "),
        "{}",
        o.stderr
    );
    // DEADBOLT_KMS_KEYSTORE, else .deadbolt/keystore in the working directory.
    let mut c = Command::cargo_bin("deadbolt").unwrap();
    c.args(["kms", "list-keys"])
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT)
        .env("DEADBOLT_KMS_KEYSTORE", &store);
    let o = run(&mut c);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 1);
    let mut c = Command::cargo_bin("deadbolt").unwrap();
    c.args(["kms", "create-key"])
        .current_dir(d.path())
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT)
        .env_remove("DEADBOLT_KMS_KEYSTORE");
    assert_eq!(run(&mut c).code, 0);
    assert!(d.path().join(".deadbolt/keystore/config.json").exists());
}

#[test]
fn policies_and_grants_from_the_cli() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (id, _) = create_key(&store, &[]);
    let o = run(kms(&store).args(["get-key-policy", &id]));
    assert!(
        o.stdout.contains("arn:aws:iam::111122223333:root"),
        "{}",
        o.stdout
    );
    let pfile = d.path().join("p.json");
    std::fs::write(
        &pfile,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/x"},"Action":"kms:*","Resource":"*"}]}"#,
    )
    .unwrap();
    let o = run(kms(&store)
        .args(["put-key-policy", "--key", &id])
        .arg(&pfile));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .starts_with("error: MalformedPolicyDocumentException: "),
        "{}",
        o.stderr
    );
    let o = run(kms(&store).args([
        "create-grant",
        "--key",
        &id,
        "--grantee",
        "arn:aws:iam::444455556666:role/reader",
        "--operations",
        "Decrypt,DescribeKey",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(kms(&store).args(["list-grants", &id]));
    assert!(
        o.stdout.contains("arn:aws:iam::444455556666:role/reader"),
        "{}",
        o.stdout
    );
}
