//! The keystore survives `kill -9` at any moment: every key whose creation was
//! answered (its id printed by `deadbolt kms create-keys`, which prints each id
//! once the key is durable) is in the store afterwards, and the store opens
//! cleanly. Two processes writing at once lose nothing either.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadbolt::kms::{Caller, Kms, RootKey};

const ROOT: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn spawn_creator(store: &Path, count: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_deadbolt"))
        .args(["kms", "--keystore"])
        .arg(store)
        .args(["create-keys", "--count", &count.to_string()])
        .env("DEADBOLT_KMS_ROOT_KEY", ROOT)
        .env_remove("DEADBOLT_KMS_ROOT_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn deadbolt")
}

/// Collects every complete line the child prints, until its stdout closes.
fn collect(child: &mut Child) -> (std::thread::JoinHandle<()>, Arc<Mutex<Vec<String>>>) {
    let out = child.stdout.take().expect("piped");
    let ids = Arc::new(Mutex::new(Vec::new()));
    let sink = ids.clone();
    let h = std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with('\n') => {
                    sink.lock().unwrap().push(line.trim().to_string());
                }
                Ok(_) => break, // a partial last line: not an answer
            }
        }
    });
    (h, ids)
}

/// A pseudo-random delay in `lo..hi` milliseconds (no RNG crate needed).
fn jitter(lo: u64, hi: u64, salt: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let x = (nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0x2545_F491_4F6C_DD1D);
    Duration::from_millis(lo + x % (hi - lo))
}

fn check_store(store: &Path, printed: &[String]) -> usize {
    let kms = Kms::open(store, RootKey::from_hex(ROOT).unwrap()).expect("the store opens cleanly");
    let keys = kms.list_keys().expect("every key file parses");
    let have: std::collections::HashSet<&str> = keys.iter().map(|k| k.key_id.as_str()).collect();
    for id in printed {
        assert!(
            have.contains(id.as_str()),
            "key {id} was answered but is gone"
        );
        kms.describe(id).expect("an answered key describes");
    }
    // Every key present is whole and usable (its material decrypts).
    let me = Caller::local_admin("111122223333");
    for k in &keys {
        let blob = kms
            .encrypt(&me, &k.key_id, b"still here", &Default::default())
            .expect("encrypt");
        let (p, _) = kms
            .decrypt_blob(&me, &blob, &Default::default(), None)
            .unwrap();
        assert_eq!(p.as_slice(), b"still here");
    }
    keys.len()
}

fn no_temp_files(store: &Path) {
    for d in [store.to_path_buf(), store.join("keys")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with(".tmp-"), "leftover {name}");
        }
    }
}

#[test]
fn kill_9_loses_no_answered_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ks");
    let mut all_printed = Vec::new();
    for round in 0..6u64 {
        let mut child = spawn_creator(&store, 100_000);
        let (reader, ids) = collect(&mut child);
        std::thread::sleep(jitter(150, 700, round));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
        let printed = ids.lock().unwrap().clone();
        all_printed.extend(printed);
        let n = check_store(&store, &all_printed);
        assert!(n >= all_printed.len());
        // Beyond the answered keys, at most the one being created at each kill.
        assert!(
            n <= all_printed.len() + round as usize + 1,
            "{n} keys, {} answered",
            all_printed.len()
        );
    }
    assert!(
        !all_printed.is_empty(),
        "no key was created before the kills; the test proves nothing"
    );
    // A write after the crashes sweeps any half-written temporary file.
    let kms = Kms::open(&store, RootKey::from_hex(ROOT).unwrap()).unwrap();
    kms.call(
        "CreateKey",
        &Caller::local_admin("111122223333"),
        serde_json::json!({}),
    )
    .unwrap();
    no_temp_files(&store);
}

#[test]
fn two_writers_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("ks");
    // Create the store first so both processes find it.
    Kms::open(&store, RootKey::from_hex(ROOT).unwrap()).unwrap();
    let mut a = spawn_creator(&store, 25);
    let mut b = spawn_creator(&store, 100_000);
    let (ra, ia) = collect(&mut a);
    let (rb, ib) = collect(&mut b);
    assert!(a.wait().unwrap().success(), "the first writer finishes");
    std::thread::sleep(jitter(20, 200, 7));
    b.kill().unwrap();
    b.wait().unwrap();
    ra.join().unwrap();
    rb.join().unwrap();
    let mut printed = ia.lock().unwrap().clone();
    assert_eq!(printed.len(), 25);
    printed.extend(ib.lock().unwrap().iter().cloned());
    let n = check_store(&store, &printed);
    assert!(n >= printed.len());
}
