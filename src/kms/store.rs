//! The keystore on disk: a directory of small JSON files, each replaced
//! atomically, under a lock file shared by every process that uses the store.
//!
//! ```text
//! KEYSTORE/                 mode 0700
//!   LOCK                    flock(2): shared to read, exclusive to write
//!   config.json             format, store id, region, account, root-key verifier
//!   GENERATION              a counter bumped by every write transaction
//!   aliases.json            every alias: name -> target key id, dates
//!   keys/<key id>.json      one key: metadata, policy, tags, grants, rotation
//!                           schedule, and every backing key version sealed
//!                           under the root key
//! ```
//!
//! Every file is written as: a temporary file in the same directory (mode
//! 0600), `fsync`, `rename` over the target, `fsync` of the directory. A
//! reader therefore sees a file whole, old or new, never half of it.
//!
//! A write transaction holds the exclusive lock for its whole length: it
//! bumps `GENERATION` first, then writes new or changed key files, then
//! `aliases.json`, then removes deleted key files (so an alias never names a
//! key that was not yet written, and a key is not removed while an alias still
//! names it), `fsync`ing each directory between the steps; only then is the
//! request answered. A process killed at any moment leaves every file whole,
//! and every answered change is on disk.
//!
//! Readers take the shared lock and compare `GENERATION` with the one their
//! in-memory cache was loaded at; when it differs (another process wrote) they
//! reload. Bumping the generation *before* the files means a cache can never be
//! stamped with a generation whose files may still change — so a long-running
//! server sees the CLI's changes on its next request.
//!
//! Each process opens its own descriptor on `LOCK` for every operation, so the
//! locks of threads and processes exclude each other alike.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::crypto;
use super::error::KmsError;
use super::model::{AliasFile, AliasRecord, KeyRecord, Sealed, StoreConfig, B64};
use super::rootkey::RootKey;
use base64::Engine;

pub(crate) const STORE_FORMAT: u32 = 1;
const VERIFIER_PLAINTEXT: &[u8] = b"deadbolt-kms keystore verifier v1";

/// Region and account of a store being created.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub region: String,
    pub account: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            region: "us-east-1".into(),
            account: "111122223333".into(),
        }
    }
}

impl StoreOptions {
    pub fn validate(&self) -> Result<(), KmsError> {
        if !(self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())) {
            return Err(KmsError::validation(format!(
                "an account id is 12 digits, not {:?}",
                self.account
            )));
        }
        let r = &self.region;
        let ok = !r.is_empty()
            && r.len() <= 32
            && r.split('-').count() >= 3
            && r.split('-').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !ok {
            return Err(KmsError::validation(format!(
                "{r:?} is not a region name such as us-east-1"
            )));
        }
        Ok(())
    }
}

/// The whole store as one process sees it.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub config: StoreConfig,
    pub keys: BTreeMap<String, Arc<KeyRecord>>,
    pub aliases: BTreeMap<String, AliasRecord>,
}

/// Read access shared by a snapshot and a transaction in progress.
pub(crate) trait View {
    fn config(&self) -> &StoreConfig;
    fn key(&self, id: &str) -> Option<&KeyRecord>;
    fn key_ids(&self) -> Vec<String>;
    fn aliases(&self) -> &BTreeMap<String, AliasRecord>;
}

impl View for State {
    fn config(&self) -> &StoreConfig {
        &self.config
    }
    fn key(&self, id: &str) -> Option<&KeyRecord> {
        self.keys.get(id).map(|a| a.as_ref())
    }
    fn key_ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }
    fn aliases(&self) -> &BTreeMap<String, AliasRecord> {
        &self.aliases
    }
}

/// Changes being made by one write transaction.
pub(crate) struct Tx<'a> {
    base: &'a State,
    keys: BTreeMap<String, Option<KeyRecord>>,
    aliases: Option<BTreeMap<String, AliasRecord>>,
    pub now: f64,
}

impl View for Tx<'_> {
    fn config(&self) -> &StoreConfig {
        &self.base.config
    }
    fn key(&self, id: &str) -> Option<&KeyRecord> {
        match self.keys.get(id) {
            Some(change) => change.as_ref(),
            None => self.base.key(id),
        }
    }
    fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .base
            .keys
            .keys()
            .filter(|k| !matches!(self.keys.get(*k), Some(None)))
            .cloned()
            .collect();
        for (k, v) in &self.keys {
            if v.is_some() && !self.base.keys.contains_key(k) {
                ids.push(k.clone());
            }
        }
        ids.sort();
        ids
    }
    fn aliases(&self) -> &BTreeMap<String, AliasRecord> {
        self.aliases.as_ref().unwrap_or(&self.base.aliases)
    }
}

impl Tx<'_> {
    pub fn key_mut(&mut self, id: &str) -> Option<&mut KeyRecord> {
        if !self.keys.contains_key(id) {
            let rec = self.base.keys.get(id)?.as_ref().clone();
            self.keys.insert(id.to_string(), Some(rec));
        }
        self.keys.get_mut(id).and_then(|c| c.as_mut())
    }
    pub fn put_key(&mut self, rec: KeyRecord) {
        self.keys.insert(rec.key_id.clone(), Some(rec));
    }
    pub fn delete_key(&mut self, id: &str) {
        self.keys.insert(id.to_string(), None);
    }
    pub fn aliases_mut(&mut self) -> &mut BTreeMap<String, AliasRecord> {
        if self.aliases.is_none() {
            self.aliases = Some(self.base.aliases.clone());
        }
        self.aliases.as_mut().expect("just set")
    }
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.aliases.is_none()
    }
}

struct Cache {
    /// `None`: not loaded, or a failed write left it unknown.
    generation: Option<u64>,
    state: Arc<State>,
    /// SHA-256 of each key file as last parsed, to skip re-parsing unchanged ones.
    hashes: HashMap<String, [u8; 32]>,
}

pub(crate) struct Store {
    dir: PathBuf,
    kek: Zeroizing<[u8; 32]>,
    cache: RwLock<Cache>,
    writer: Mutex<()>,
}

fn io_err(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> KmsError {
    move |e| KmsError::io(what, e)
}

/// A key id as it may appear in a file name: a lower-case UUID.
pub(crate) fn is_key_id(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

// `File::lock` is stable since Rust 1.89; Cargo.toml's rust-version (1.85) predates it.
fn lock_file(dir: &Path, exclusive: bool) -> Result<File, KmsError> {
    let path = dir.join("LOCK");
    let mut oo = OpenOptions::new();
    oo.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        oo.mode(0o600);
    }
    let f = match oo.open(&path) {
        Ok(f) => f,
        // A read-only keystore (a checked-in fixture, a read-only mount) can
        // still be read under a lock taken through a read-only descriptor.
        Err(e)
            if !exclusive
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
        {
            File::open(&path).map_err(io_err(format!(
                "cannot open the keystore lock {}",
                path.display()
            )))?
        }
        Err(e) => {
            return Err(KmsError::io(
                format!("cannot open the keystore lock {}", path.display()),
                e,
            ))
        }
    };
    let r = if exclusive { f.lock() } else { f.lock_shared() };
    r.map_err(io_err(format!(
        "cannot lock the keystore {}",
        dir.display()
    )))?;
    Ok(f)
}

fn sync_dir(dir: &Path) -> Result<(), KmsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(format!("cannot sync directory {}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Temp file + fsync + rename (the caller syncs the directory).
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KmsError> {
    let mut rnd = [0u8; 8];
    crypto::fill_random(&mut rnd)?;
    let tmp = dir.join(format!(".tmp-{}", hex::encode(rnd)));
    let target = dir.join(name);
    let result = (|| -> std::io::Result<()> {
        let mut oo = OpenOptions::new();
        oo.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            oo.mode(0o600);
        }
        let mut f = oo.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(KmsError::io(
            format!("cannot write {}", target.display()),
            e,
        ));
    }
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, KmsError> {
    match File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v)
                .map_err(io_err(format!("cannot read {}", path.display())))?;
            Ok(Some(v))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KmsError::io(format!("cannot read {}", path.display()), e)),
    }
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> KmsError {
    KmsError::internal(format!(
        "the keystore file {} is damaged: {why}",
        path.display()
    ))
}

fn make_dir(path: &Path) -> Result<(), KmsError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path).map_err(io_err(format!(
        "cannot create the keystore directory {}",
        path.display()
    )))
}

impl Store {
    /// Opens the store at `dir`, creating it (with `opts`) if it does not exist.
    /// `require_opts`: an existing store must have this region and account.
    pub fn open(
        dir: &Path,
        root: &RootKey,
        opts: &StoreOptions,
        require_opts: bool,
        now: f64,
    ) -> Result<Store, KmsError> {
        opts.validate()?;
        make_dir(dir)?;
        let kek = root.derive("deadbolt-kms/v1/key-encryption-key");
        let cfg_path = dir.join("config.json");
        // Readers of an existing store need only the shared lock (the store may
        // be read-only); creating one takes the exclusive lock.
        let mut lock = lock_file(dir, false)?;
        if read_optional(&cfg_path)?.is_none() {
            drop(lock);
            lock = lock_file(dir, true)?;
        }
        let config = match read_optional(&cfg_path)? {
            Some(bytes) => {
                let cfg: StoreConfig =
                    serde_json::from_slice(&bytes).map_err(|e| damaged(&cfg_path, e))?;
                if cfg.format != STORE_FORMAT {
                    return Err(KmsError::internal(format!(
                        "the keystore at {} has format {}; this deadbolt reads format {STORE_FORMAT}",
                        dir.display(),
                        cfg.format
                    )));
                }
                let nonce = cfg
                    .verifier
                    .nonce_bytes()
                    .ok_or_else(|| damaged(&cfg_path, "bad verifier"))?;
                let data = cfg
                    .verifier
                    .data_bytes()
                    .ok_or_else(|| damaged(&cfg_path, "bad verifier"))?;
                let aad = format!("deadbolt-kms/v1/verifier/{}", cfg.store_id);
                match crypto::open(&kek, &nonce, &data, aad.as_bytes()) {
                    Some(p) if p.as_slice() == VERIFIER_PLAINTEXT => {}
                    _ => {
                        return Err(KmsError::internal(format!(
                            "the keystore at {} was created with a different root key",
                            dir.display()
                        )))
                    }
                }
                if require_opts && (cfg.region != opts.region || cfg.account != opts.account) {
                    return Err(KmsError::already_exists(format!(
                        "the keystore at {} already exists for region {} and account {}",
                        dir.display(),
                        cfg.region,
                        cfg.account
                    )));
                }
                cfg
            }
            None => {
                let keys_dir = dir.join("keys");
                if let Ok(rd) = fs::read_dir(&keys_dir) {
                    let any = rd
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".json"));
                    if any {
                        return Err(KmsError::internal(format!(
                            "the keystore at {} has keys but no config.json: it is damaged",
                            dir.display()
                        )));
                    }
                }
                let store_id = uuid::Uuid::new_v4().to_string();
                let nonce = crypto::random_nonce()?;
                let aad = format!("deadbolt-kms/v1/verifier/{store_id}");
                let data = crypto::seal(&kek, &nonce, VERIFIER_PLAINTEXT, aad.as_bytes());
                let cfg = StoreConfig {
                    format: STORE_FORMAT,
                    store_id,
                    region: opts.region.clone(),
                    account: opts.account.clone(),
                    created: now,
                    verifier: Sealed {
                        nonce: B64.encode(nonce),
                        data: B64.encode(data),
                    },
                };
                make_dir(&keys_dir)?;
                sync_dir(dir)?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    sync_dir(parent)?;
                }
                let bytes = serde_json::to_vec_pretty(&cfg).expect("serializable");
                write_atomic(dir, "config.json", &bytes)?;
                sync_dir(dir)?;
                cfg
            }
        };
        if !dir.join("keys").is_dir() {
            make_dir(&dir.join("keys"))?;
        }
        drop(lock);
        Ok(Store {
            dir: dir.to_path_buf(),
            kek,
            cache: RwLock::new(Cache {
                generation: None,
                state: Arc::new(State {
                    config,
                    keys: BTreeMap::new(),
                    aliases: BTreeMap::new(),
                }),
                hashes: HashMap::new(),
            }),
            writer: Mutex::new(()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read_generation(&self) -> Result<u64, KmsError> {
        let p = self.dir.join("GENERATION");
        match read_optional(&p)? {
            None => Ok(0),
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| damaged(&p, "not a number")),
        }
    }

    /// Loads the files into `cache` (under a lock held by the caller).
    fn reload(&self, cache: &mut Cache, generation: u64) -> Result<(), KmsError> {
        let aliases_path = self.dir.join("aliases.json");
        let aliases = match read_optional(&aliases_path)? {
            None => BTreeMap::new(),
            Some(b) => {
                let f: AliasFile =
                    serde_json::from_slice(&b).map_err(|e| damaged(&aliases_path, e))?;
                f.aliases
            }
        };
        let keys_dir = self.dir.join("keys");
        let mut keys = BTreeMap::new();
        let mut hashes = HashMap::new();
        let rd = fs::read_dir(&keys_dir)
            .map_err(io_err(format!("cannot list {}", keys_dir.display())))?;
        for entry in rd {
            let entry = entry.map_err(io_err(format!("cannot list {}", keys_dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if !is_key_id(id) {
                continue;
            }
            let path = entry.path();
            let Some(bytes) = read_optional(&path)? else {
                continue;
            };
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            if cache.hashes.get(id) == Some(&hash) {
                if let Some(rec) = cache.state.keys.get(id) {
                    keys.insert(id.to_string(), rec.clone());
                    hashes.insert(id.to_string(), hash);
                    continue;
                }
            }
            let rec: KeyRecord = serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e))?;
            if rec.key_id != id {
                return Err(damaged(
                    &path,
                    "the key id inside does not match the file name",
                ));
            }
            keys.insert(id.to_string(), Arc::new(rec));
            hashes.insert(id.to_string(), hash);
        }
        cache.state = Arc::new(State {
            config: cache.state.config.clone(),
            keys,
            aliases,
        });
        cache.hashes = hashes;
        cache.generation = Some(generation);
        Ok(())
    }

    /// A consistent snapshot of the store, reloaded if another process wrote.
    pub fn snapshot(&self) -> Result<Arc<State>, KmsError> {
        let lock = lock_file(&self.dir, false)?;
        let generation = self.read_generation()?;
        {
            let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if c.generation == Some(generation) {
                return Ok(c.state.clone());
            }
        }
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if c.generation != Some(generation) {
            self.reload(&mut c, generation)?;
        }
        let s = c.state.clone();
        drop(lock);
        Ok(s)
    }

    /// Runs `f` as one write transaction: all its changes reach the disk, in a
    /// crash-safe order, before this returns; none when `f` fails.
    pub fn write<T>(
        &self,
        now: f64,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let _serial = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _lock = lock_file(&self.dir, true)?;
        self.remove_temp_files();
        let generation = self.read_generation()?;
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if c.generation != Some(generation) {
            self.reload(&mut c, generation)?;
        }
        let base = c.state.clone();
        let mut tx = Tx {
            base: &base,
            keys: BTreeMap::new(),
            aliases: None,
            now,
        };
        purge_expired(&mut tx);
        let out = f(&mut tx)?;
        if tx.is_empty() {
            return Ok(out);
        }
        let Tx { keys, aliases, .. } = tx;
        // From here on the cache is unknown until the commit completes.
        c.generation = None;
        let next = generation + 1;
        write_atomic(&self.dir, "GENERATION", format!("{next}\n").as_bytes())?;
        sync_dir(&self.dir)?;
        let keys_dir = self.dir.join("keys");
        let mut hashes = Vec::new();
        for (id, rec) in &keys {
            if let Some(rec) = rec {
                let bytes = serde_json::to_vec_pretty(rec).expect("serializable");
                write_atomic(&keys_dir, &format!("{id}.json"), &bytes)?;
                hashes.push((id.clone(), <[u8; 32]>::from(Sha256::digest(&bytes))));
            }
        }
        let wrote_keys = !hashes.is_empty();
        if wrote_keys {
            sync_dir(&keys_dir)?;
        }
        if let Some(a) = &aliases {
            let file = AliasFile {
                format: STORE_FORMAT,
                aliases: a.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&file).expect("serializable");
            write_atomic(&self.dir, "aliases.json", &bytes)?;
            sync_dir(&self.dir)?;
        }
        let mut removed = false;
        for (id, rec) in &keys {
            if rec.is_none() {
                let p = keys_dir.join(format!("{id}.json"));
                match fs::remove_file(&p) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(KmsError::io(format!("cannot remove {}", p.display()), e))
                    }
                }
            }
        }
        if removed {
            sync_dir(&keys_dir)?;
        }
        // Commit the changes to the cache.
        let mut state = (*base).clone();
        drop(base);
        for (id, rec) in keys {
            c.hashes.remove(&id);
            match rec {
                Some(r) => {
                    state.keys.insert(id, Arc::new(r));
                }
                None => {
                    state.keys.remove(&id);
                }
            }
        }
        if let Some(a) = aliases {
            state.aliases = a;
        }
        c.hashes.extend(hashes);
        c.state = Arc::new(state);
        c.generation = Some(next);
        Ok(out)
    }

    /// Leftovers of a writer killed mid-write (only lock holders make them).
    fn remove_temp_files(&self) {
        for d in [self.dir.clone(), self.dir.join("keys")] {
            if let Ok(rd) = fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().starts_with(".tmp-") {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
    }

    /// Seals new key material for `key_id` version `version`.
    pub fn seal_material(
        &self,
        key_id: &str,
        version: u32,
        material: &[u8; 32],
    ) -> Result<Sealed, KmsError> {
        let nonce = crypto::random_nonce()?;
        let aad = material_aad(key_id, version);
        let data = crypto::seal(&self.kek, &nonce, material, aad.as_bytes());
        Ok(Sealed {
            nonce: B64.encode(nonce),
            data: B64.encode(data),
        })
    }

    /// The backing key `version` of `rec`, decrypted.
    pub fn material(
        &self,
        rec: &KeyRecord,
        version: u32,
    ) -> Result<Option<Zeroizing<[u8; 32]>>, KmsError> {
        let Some(v) = rec.versions.iter().find(|v| v.version == version) else {
            return Ok(None);
        };
        let bad = || {
            KmsError::internal(format!(
                "the key material of {} version {version} does not decrypt under the root key: the keystore is damaged",
                rec.key_id
            ))
        };
        let nonce = v.material.nonce_bytes().ok_or_else(bad)?;
        let data = v.material.data_bytes().ok_or_else(bad)?;
        let plain = crypto::open(
            &self.kek,
            &nonce,
            &data,
            material_aad(&rec.key_id, version).as_bytes(),
        )
        .ok_or_else(bad)?;
        if plain.len() != 32 {
            return Err(bad());
        }
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&plain);
        Ok(Some(k))
    }
}

fn material_aad(key_id: &str, version: u32) -> String {
    format!("deadbolt-kms/v1/key-material/{key_id}/{version}")
}

/// Keys whose waiting period is over are deleted, with their aliases.
fn purge_expired(tx: &mut Tx<'_>) {
    let now = tx.now;
    let expired: Vec<String> = tx
        .key_ids()
        .into_iter()
        .filter(|id| tx.key(id).is_some_and(|k| k.is_deleted(now)))
        .collect();
    let dangling: Vec<String> = tx
        .aliases()
        .iter()
        .filter(|(_, a)| expired.contains(&a.target) || tx.key(&a.target).is_none())
        .map(|(n, _)| n.clone())
        .collect();
    if !dangling.is_empty() {
        let a = tx.aliases_mut();
        for n in dangling {
            a.remove(&n);
        }
    }
    for id in expired {
        tx.delete_key(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
mod store_tests {
    use super::*;

    fn root() -> RootKey {
        RootKey::from_hex(&"42".repeat(32)).unwrap()
    }

    #[test]
    fn another_handle_sees_writes_and_temp_files_are_swept() {
        let d = tempfile::tempdir().unwrap();
        let a = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
        let b = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
        assert!(b.snapshot().unwrap().aliases.is_empty());
        a.write(2.0, |tx| {
            tx.aliases_mut().insert(
                "alias/x".into(),
                AliasRecord {
                    target: "t".into(),
                    created: 2.0,
                    updated: 2.0,
                },
            );
            Ok(())
        })
        .unwrap();
        // The dangling alias is kept until the next write, and b sees it now.
        assert_eq!(b.snapshot().unwrap().aliases.len(), 1);
        std::fs::write(d.path().join("keys/.tmp-deadbeef"), b"half").unwrap();
        b.write(3.0, |_| Ok(())).unwrap();
        assert!(!d.path().join("keys/.tmp-deadbeef").exists());
        // That write also purged the dangling alias (its key does not exist).
        assert!(a.snapshot().unwrap().aliases.is_empty());
        assert_eq!(a.read_generation().unwrap(), 2);
    }

    #[test]
    fn a_failed_transaction_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
        let r: Result<(), KmsError> = s.write(2.0, |tx| {
            tx.aliases_mut();
            Err(KmsError::validation("no"))
        });
        assert!(r.is_err());
        assert_eq!(s.read_generation().unwrap(), 0);
        assert!(!d.path().join("aliases.json").exists());
    }

    #[test]
    fn damaged_files_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0).unwrap();
        std::fs::write(
            d.path()
                .join("keys/1234abcd-12ab-34cd-56ef-1234567890ab.json"),
            b"{not json",
        )
        .unwrap();
        std::fs::write(d.path().join("GENERATION"), b"5\n").unwrap();
        let e = s.snapshot().unwrap_err();
        assert!(e.message.contains("is damaged"), "{e}");
        std::fs::remove_file(d.path().join("config.json")).unwrap();
        let Err(e) = Store::open(d.path(), &root(), &StoreOptions::default(), false, 1.0) else {
            panic!("a store with keys but no config.json opened");
        };
        assert!(e.message.contains("no config.json"), "{e}");
    }
}
