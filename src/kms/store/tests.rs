use super::*;
use crate::kms::model::AliasRecord;

fn root() -> RootKey {
    RootKey::from_hex(&"42".repeat(32)).unwrap()
}

fn quiet(s: &Store) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    s.set_log(Arc::new(move |m: &str| {
        sink.lock().unwrap().push(m.to_string())
    }));
    seen
}

fn alias(target: &str) -> AliasRecord {
    AliasRecord {
        target: target.into(),
        created: 2.0,
        updated: 2.0,
    }
}

#[test]
fn key_ids() {
    assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
    assert!(!is_key_id("1234ABCD-12ab-34cd-56ef-1234567890ab"));
    assert!(!is_key_id("../../etc/passwd"));
    assert!(!is_key_id("1234abcd-12ab-34cd-56ef-1234567890a/"));
}

#[test]
fn options_are_validated() {
    assert!(StoreOptions::default().validate().is_ok());
    let bad = StoreOptions {
        region: "us-east-1".into(),
        account: "123".into(),
    };
    assert!(bad.validate().is_err());
    let bad = StoreOptions {
        region: "Mars".into(),
        account: "111122223333".into(),
    };
    assert!(bad.validate().is_err());
    let ok = StoreOptions {
        region: "eu-west-2".into(),
        account: "444455556666".into(),
    };
    assert!(ok.validate().is_ok());
}

#[test]
fn another_handle_sees_writes_and_temp_files_are_swept() {
    let d = tempfile::tempdir().unwrap();
    let a = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
    let b = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
    assert!(b.snapshot().unwrap().aliases.is_empty());
    a.write(2.0, |tx| {
        tx.aliases_mut("us-east-1")?
            .insert("alias/x".into(), alias("t"));
        Ok(())
    })
    .unwrap();
    // The dangling alias is kept until the next write, and b sees it now.
    assert_eq!(b.snapshot().unwrap().aliases["us-east-1"].len(), 1);
    std::fs::write(d.path().join("keys/.tmp-deadbeef"), b"half").unwrap();
    b.write(3.0, |_| Ok(())).unwrap();
    assert!(!d.path().join("keys/.tmp-deadbeef").exists());
    // That write also purged the dangling alias (its key does not exist).
    assert!(a.snapshot().unwrap().aliases["us-east-1"].is_empty());
    assert_eq!(a.read_generation().unwrap(), Some(2));
}

#[test]
fn a_failed_transaction_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
    let r: Result<(), KmsError> = s.write(2.0, |tx| {
        tx.aliases_mut("us-east-1")?;
        Err(KmsError::validation("no"))
    });
    assert!(r.is_err());
    assert_eq!(s.read_generation().unwrap(), Some(0));
    assert!(!d.path().join("aliases.json").exists());
}

#[test]
fn damaged_or_altered_files_stay_local_and_name_no_path_to_clients() {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
    let seen = quiet(&s);
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    std::fs::write(d.path().join(format!("keys/{id}.json")), b"{not json").unwrap();
    std::fs::write(d.path().join("GENERATION"), b"5\n").unwrap();
    let st = s.snapshot().unwrap();
    assert!(st.keys.is_empty());
    let why = st.damage(id).unwrap();
    assert!(why.contains(&format!("keys/{id}.json")), "{why}");
    assert!(why.contains("is damaged"), "{why}");
    // Reported once, even when read again.
    std::fs::write(d.path().join("GENERATION"), b"6\n").unwrap();
    s.snapshot().unwrap();
    assert_eq!(
        seen.lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(id) && m.contains("is damaged"))
            .count(),
        1
    );
    // A write goes on, and leaves the damaged file as it was.
    s.write(2.0, |tx| {
        tx.aliases_mut("us-east-1")?
            .insert("alias/x".into(), alias(id));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        std::fs::read(d.path().join(format!("keys/{id}.json"))).unwrap(),
        b"{not json"
    );
    // The alias of a damaged key is not purged as dangling.
    s.write(3.0, |_| Ok(())).unwrap();
    assert_eq!(s.snapshot().unwrap().aliases["us-east-1"].len(), 1);
    // An altered alias table disables aliases only, without naming the file.
    let p = d.path().join("aliases.json");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("alias/x", "alias/y");
    std::fs::write(&p, text).unwrap();
    std::fs::write(d.path().join("GENERATION"), b"9\n").unwrap();
    let e = s.snapshot().unwrap().aliases("us-east-1").unwrap_err();
    assert_eq!(e.kind, "KMSInternalException");
    assert!(!e.message.contains("aliases.json"), "{e:?}");
    assert!(e.detail.as_deref().unwrap().contains("aliases.json"));
    // A damaged counter: reported, reads reload, the next write repairs it.
    std::fs::write(d.path().join("GENERATION"), b"garbage").unwrap();
    assert!(s.snapshot().is_ok());
    assert!(s
        .write(4.0, |tx| tx.aliases_mut("us-east-1").map(|_| ()))
        .is_err());
    s.write(4.0, |_| Ok(())).unwrap();
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.contains("GENERATION")));
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let Err(e) = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0) else {
        panic!("a store with keys but no config.json opened");
    };
    assert!(e.owner_message().contains("no config.json"), "{e:?}");
    assert!(!e.message.contains(&*d.path().to_string_lossy()), "{e:?}");
}

#[test]
fn config_is_authenticated() {
    let d = tempfile::tempdir().unwrap();
    Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
    let p = d.path().join("config.json");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("111122223333", "444455556666")).unwrap();
    let Err(e) = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0) else {
        panic!("an altered account went unnoticed");
    };
    assert!(e.owner_message().contains("altered"), "{e:?}");
}

#[test]
fn a_format_1_store_is_upgraded_in_place() {
    let d = tempfile::tempdir().unwrap();
    let r = root();
    let kek = r.derive("deadbolt-kms/v1/key-encryption-key");
    let store_id = "7933fca8-0bf7-45e5-a18b-a605dc4bb840";
    let nonce = [7u8; 12];
    let data = crypto::seal(
        &kek,
        &nonce,
        VERIFIER_PLAINTEXT,
        verifier_aad(1, store_id).as_bytes(),
    );
    let cfg = serde_json::json!({"format": 1, "store_id": store_id, "region": "eu-west-1",
        "account": "111122223333", "created": 1.5,
        "verifier": {"nonce": B64.encode(nonce), "data": B64.encode(data)}});
    std::fs::create_dir_all(d.path().join("keys")).unwrap();
    std::fs::write(d.path().join("config.json"), cfg.to_string()).unwrap();
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let rec = serde_json::json!({"format": 1, "key_id": id, "created": 1.5, "description": "old",
        "state": "Enabled", "manager": "CUSTOMER", "origin": "AWS_KMS", "spec": "SYMMETRIC_DEFAULT",
        "usage": "ENCRYPT_DECRYPT", "policy": "{}", "tags": {}, "rotation_enabled": false,
        "rotations": [], "versions": [], "grants": []});
    std::fs::write(d.path().join(format!("keys/{id}.json")), rec.to_string()).unwrap();
    let aliases = serde_json::json!({"format": 1, "aliases": {"alias/old":
        {"target": id, "created": 1.5, "updated": 1.5}}});
    std::fs::write(d.path().join("aliases.json"), aliases.to_string()).unwrap();
    let s = Store::open(d.path(), &r, &StoreOptions::default(), false, 2.0).unwrap();
    let st = s.snapshot().unwrap();
    assert_eq!(st.config.format, STORE_FORMAT);
    assert_eq!(st.config.region, "eu-west-1");
    assert_eq!(st.key(id).unwrap().region, "eu-west-1");
    assert_eq!(st.aliases("eu-west-1").unwrap()["alias/old"].target, id);
    assert!(st.damaged.is_empty());
    // Reopening reads the upgraded store as it is.
    let s2 = Store::open(d.path(), &r, &StoreOptions::default(), false, 3.0).unwrap();
    assert_eq!(s2.snapshot().unwrap().key(id).unwrap().description, "old");
}

#[cfg(unix)]
#[test]
fn a_keystore_others_can_read_is_reported_once_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ks");
    Store::open(&dir, &root(), &StoreOptions::default(), false, 1.0).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("config.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = Store::open(&dir, &root(), &StoreOptions::default(), false, 1.0).unwrap();
    let seen = quiet(&s);
    s.snapshot().unwrap();
    s.snapshot().unwrap();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("1 directory and 1 file open to group or others"),
        "{got:?}"
    );
    assert!(
        got[0].contains(&format!("chmod -R go-rwx {}", dir.display())),
        "{got:?}"
    );
}
