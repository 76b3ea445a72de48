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
    let o = run(kms(&store).args(["create-alias", &id, "--alias", "alias/aws/x"]));
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
    assert!(
        o.stdout.contains(&format!("{id}  us-east-1  Enabled")),
        "{}",
        o.stdout
    );
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
        .args(["encrypt-file", "alias/files", "--context", "bucket=logs"])
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&enc));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(&id), "{}", o.stderr);
    let bytes = std::fs::read(&enc).unwrap();
    assert_eq!(&bytes[..8], b"DBKMSENV");
    let dec = d.path().join("data.out");
    let o = run(kms(&store)
        .arg("decrypt-file")
        .arg("--in")
        .arg(&enc)
        .arg("--out")
        .arg(&dec));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read(&dec).unwrap(), data);
    let o = run(kms(&store)
        .args(["decrypt-file", "--context", "bucket=logs"])
        .arg("--in")
        .arg(&enc)
        .arg("--out")
        .arg(&dec));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A wrong context or a damaged file: error, and OUT is left as it was.
    std::fs::write(&dec, b"previous").unwrap();
    let o = run(kms(&store)
        .args(["decrypt-file", "--context", "bucket=other"])
        .arg("--in")
        .arg(&enc)
        .arg("--out")
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
    let o = run(kms(&store)
        .arg("decrypt-file")
        .arg("--in")
        .arg(&bad)
        .arg("--out")
        .arg(&dec));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("failed to authenticate"), "{}", o.stderr);
    assert_eq!(std::fs::read(&dec).unwrap(), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".deadbolt-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let o = run(kms(&store)
        .arg("decrypt-file")
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&dec));
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
        .args(["put-key-policy", "--key", &id, "--policy"])
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

/// Every verb that acts on a key takes it the same way (positional KEY or
/// --key), and every flag of every verb has help text.
#[test]
fn one_key_convention_and_help_for_every_flag() {
    let help = |args: &[&str]| {
        let o = run(Command::cargo_bin("deadbolt")
            .unwrap()
            .args(["kms"])
            .args(args)
            .arg("--help"));
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o.stdout
    };
    let top = help(&[]);
    let verbs: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|v| v != "help")
        .collect();
    assert_eq!(verbs.len(), 29, "{verbs:?}");
    let key_verbs = [
        "describe-key",
        "create-alias",
        "update-alias",
        "list-aliases",
        "enable-key",
        "disable-key",
        "schedule-deletion",
        "cancel-deletion",
        "enable-rotation",
        "disable-rotation",
        "rotate",
        "rotation-status",
        "encrypt",
        "decrypt",
        "generate-data-key",
        "put-key-policy",
        "get-key-policy",
        "create-grant",
        "list-grants",
        "revoke-grant",
        "encrypt-file",
    ];
    for v in &verbs {
        let h = help(&[v]);
        let usage = h.lines().find(|l| l.starts_with("Usage:")).unwrap();
        if key_verbs.contains(&v.as_str()) {
            assert!(usage.contains("KEY"), "{v}: {usage}");
            assert!(h.contains("-k, --key <KEY>"), "{v}:\n{h}");
            // KEY is the verb's only positional argument.
            let positionals: Vec<&str> = h
                .lines()
                .skip_while(|l| !l.starts_with("Arguments:"))
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            assert_eq!(positionals, ["[KEY]"], "{v}:\n{h}");
        }
        // Each option line has a description after the flag.
        // (clap puts the text on the next line when the flags are wide.)
        let lines: Vec<&str> = h
            .lines()
            .skip_while(|l| !l.starts_with("Options:"))
            .skip(1)
            .collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if !t.starts_with('-') {
                continue;
            }
            let (flag, rest) = t.split_once("  ").unwrap_or((t, ""));
            let next = lines.get(i + 1).map_or("", |l| l.trim_start());
            let has_text = !rest.trim().is_empty() || (!next.is_empty() && !next.starts_with('-'));
            assert!(has_text, "{v}: {flag} has no help text");
        }
    }
    for v in [
        "encrypt",
        "decrypt",
        "encrypt-file",
        "serve",
        "create-grant",
    ] {
        assert!(help(&[v]).contains("Example"), "{v} --help has an example");
    }
}

#[test]
fn key_given_positionally_or_with_key_and_as_alias_or_arn() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (id, arn) = create_key(&store, &["--alias", "alias/k"]);
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/k";
    for form in [
        vec!["describe-key", id.as_str()],
        vec!["describe-key", "--key", &arn],
        vec!["describe-key", "-k", "alias/k"],
        vec!["describe-key", alias_arn],
        vec!["disable-key", "alias/k"],
        vec!["enable-key", "-k", alias_arn],
        vec!["rotation-status", "alias/k"],
        vec!["list-grants", "--key", "alias/k"],
    ] {
        let o = run(kms(&store).args(&form));
        assert_eq!(o.code, 0, "{form:?}: {}", o.stderr);
        if form[0] == "describe-key" {
            assert!(o.stdout.contains(&arn), "{form:?}: {}", o.stdout);
        }
    }
    let o = run(kms(&store).args(["describe-key", &id, "--key", &id]));
    assert_eq!(o.code, 2, "one way at a time");
}

#[test]
fn listings_escape_control_characters() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let o = run(kms(&store).args([
        "call",
        "CreateKey",
        r#"{"Description": "evil\u001b[31m red\n::add-mask::x\u202e"}"#,
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(kms(&store).arg("list-keys"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains('\u{1b}'), "{:?}", o.stdout);
    assert!(!o.stdout.contains('\u{202e}'), "{:?}", o.stdout);
    assert_eq!(o.stdout.lines().count(), 1, "{:?}", o.stdout);
    assert!(
        o.stdout
            .contains("evil\\u{1b}[31m red\\n::add-mask::x\\u{202e}"),
        "{:?}",
        o.stdout
    );
}

#[test]
fn regions_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (home_key, _) = create_key(&store, &["--alias", "alias/same"]);
    let o = run(kms(&store).args([
        "--region",
        "eu-west-1",
        "create-key",
        "--alias",
        "alias/same",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let eu_key = o.stdout.split_whitespace().next().unwrap().to_string();
    assert!(o
        .stdout
        .contains(&format!("arn:aws:kms:eu-west-1:111122223333:key/{eu_key}")));
    // The same alias name in two regions names two keys.
    let describe =
        |region: &str, key: &str| run(kms(&store).args(["--region", region, "describe-key", key]));
    assert!(describe("eu-west-1", "alias/same").stdout.contains(&eu_key));
    assert!(describe("us-east-1", "alias/same")
        .stdout
        .contains(&home_key));
    // A key is not found from another region, by id or by ARN.
    let o = describe("us-east-1", &eu_key);
    assert!(
        o.stderr.starts_with(&format!(
            "error: NotFoundException: Key 'arn:aws:kms:us-east-1:111122223333:key/{eu_key}' does not exist"
        )),
        "{}",
        o.stderr
    );
    let o = describe(
        "us-east-1",
        &format!("arn:aws:kms:eu-west-1:111122223333:key/{eu_key}"),
    );
    assert!(
        o.stderr
            .starts_with("error: NotFoundException: Invalid arn eu-west-1"),
        "{}",
        o.stderr
    );
    let o = run(kms(&store).arg("list-keys"));
    assert!(
        o.stdout.contains(&format!("{eu_key}  eu-west-1  Enabled")),
        "{}",
        o.stdout
    );
    let o = run(kms(&store).args(["--region", "eu-west-1", "list-keys", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["Keys"].as_array().unwrap().len(), 1);
    let o = run(kms(&store).args(["--region", "xx-fake-9", "list-keys"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("not a public AWS region"), "{}", o.stderr);
}

#[test]
fn a_damaged_key_file_fails_only_that_key() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("ks");
    let (good, _) = create_key(&store, &["--alias", "alias/good"]);
    let (bad, _) = create_key(&store, &["--alias", "alias/bad"]);
    let file = store.join("keys").join(format!("{bad}.json"));
    std::fs::write(&file, b"{ not json").unwrap();
    let o = run(kms(&store).arg("list-keys"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains(&format!("{good}  us-east-1  Enabled")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(&format!("{bad}  -  Damaged")),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains(&file.display().to_string()),
        "the warning names the file: {}",
        o.stderr
    );
    let o = run(kms(&store).args(["describe-key", "alias/bad"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("\nerror: KMSInternalException: "),
        "{}",
        o.stderr
    );
    let o = run(kms(&store)
        .args(["encrypt", "alias/good"])
        .write_stdin("still works"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A flipped byte in a stored key policy is detected, not obeyed.
    let gfile = store.join("keys").join(format!("{good}.json"));
    let text = std::fs::read_to_string(&gfile).unwrap();
    std::fs::write(&gfile, text.replacen("kms:*", "kms:?", 1)).unwrap();
    let o = run(kms(&store).args(["describe-key", &good]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("altered"), "{}", o.stderr);
}
