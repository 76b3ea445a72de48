//! What the server decides before it opens a keystore: addresses, access keys,
//! options. The endpoint itself is tested end to end in `tests/kms_server.rs`.

use super::serve::*;
use crate::kms::RootKey;

fn root() -> RootKey {
    RootKey::from_hex(&"ab".repeat(32)).unwrap()
}

#[test]
fn loopback_only_unless_allowed() {
    for ok in ["127.0.0.1:0", "127.0.0.2:4599", "[::1]:0", "localhost:0"] {
        assert!(resolve(ok, false).is_ok(), "{ok}");
    }
    for remote in ["0.0.0.0:4599", "[::]:0", "192.0.2.1:80"] {
        let e = resolve(remote, false).unwrap_err();
        assert!(
            e.contains("not a loopback address") && e.contains("--allow-remote"),
            "{e}"
        );
        assert!(resolve(remote, true).is_ok(), "{remote}");
    }
    for bad in ["127.0.0.1", "127.0.0.1:port", ""] {
        let e = resolve(bad, false).unwrap_err();
        assert!(e.contains("HOST:PORT"), "{bad}: {e}");
    }
}

#[test]
fn refuses_to_start_without_any_way_to_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = ServeOptions::new(dir.path().join("ks"), root());
    o.addr = "127.0.0.1:0".into();
    let e = start(o).unwrap_err();
    assert!(
        e.contains("--access-keys") && e.contains("--allow-unsigned"),
        "{e}"
    );
}

#[test]
fn access_key_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, r#"{"AKIAADMIN00000000001": {"secret": "s"}}"#).unwrap();
    let mut o = ServeOptions::new(dir.path().join("ks"), root());
    o.addr = "127.0.0.1:0".into();
    o.access_keys = Some(keys.clone());
    let e = start(o).unwrap_err();
    assert!(
        e.starts_with(&format!("access keys file {}:", keys.display())),
        "{e}"
    );
    assert!(e.contains("principal"), "{e}");
}

#[test]
fn rejects_a_zero_body_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = ServeOptions::new(dir.path().join("ks"), root());
    o.addr = "127.0.0.1:0".into();
    o.allow_unsigned = true;
    o.max_body = 0;
    assert!(start(o).unwrap_err().contains("at least 1 byte"));
}

#[test]
fn port_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("port");
    write_atomically(&p, "127.0.0.1:4599\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "127.0.0.1:4599\n");
    let e = write_atomically(&dir.path().join("missing/port"), "x").unwrap_err();
    assert!(e.contains("cannot write port file"), "{e}");
}

#[test]
fn default_thread_count_is_bounded() {
    let n = default_threads();
    assert!((4..=64).contains(&n));
}
