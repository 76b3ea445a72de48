//! The keystore on disk: a directory of small JSON files, each replaced
//! atomically, under a lock file shared by every process that uses the store.
//!
//! ```text
//! KEYSTORE/                 mode 0700
//!   LOCK                    flock(2): shared to read, exclusive to write
//!   config.json             format, store id, home region, account, root-key
//!                           verifier, and a MAC over them
//!   GENERATION              a counter bumped by every write transaction
//!   aliases.json            every alias of every region: name -> target key id,
//!                           dates (an authenticated document, see `signed`)
//!   keys/<key id>.json      one key: region, metadata, policy, tags, grants,
//!                           rotation schedule, and every backing key version
//!                           sealed under the root key (an authenticated document)
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
//! **Damage stays local.** Each key file and the alias table is authenticated
//! under the root key ([`signed`]). A key file that cannot be read, is not
//! valid, or does not authenticate makes only *that* key unusable
//! (`KMSInternalException` naming the key, never the file); every other key
//! works, `ListKeys` lists the others, and the file is left as it is for its
//! owner to restore. A damaged alias table disables aliases only. Each damage is
//! reported once, with its path, to the store's log (stderr unless replaced).
//!
//! A format-1 store (before regions and authentication) is upgraded in place
//! when it is opened with write access: its keys move to its home region and
//! every document is signed; `config.json` is rewritten last, so a crash during
//! the upgrade leaves a store that upgrades again on the next open.
//!
//! Each process opens its own descriptor on `LOCK` for every operation, so the
//! locks of threads and processes exclude each other alike.

mod files;
mod migrate;
mod signed;
mod state;

pub(crate) use state::{State, Tx, View};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::crypto;
use super::error::KmsError;
use super::model::{Aliases, KeyRecord, Sealed, StoreConfig, B64};
use super::rootkey::RootKey;
use files::{exposure_warning, io_err, lock_file, make_dir, read_optional, sync_dir, write_atomic};

/// The format this deadbolt writes (format 1 stores are upgraded on open).
pub(crate) const STORE_FORMAT: u32 = 2;
const VERIFIER_PLAINTEXT: &[u8] = b"deadbolt-kms keystore verifier v1";

/// A sink for what the store reports to its owner (damage, file modes).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The default log: one `warning:` line per report on stderr.
pub fn stderr_log() -> Log {
    Arc::new(|m: &str| eprintln!("warning: {m}"))
}

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

/// Whether `r` is shaped like a region name (`us-east-1`, `eu-central-2`).
pub fn is_region_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.split('-').count() >= 3
        && r.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl StoreOptions {
    pub fn validate(&self) -> Result<(), KmsError> {
        if !(self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())) {
            return Err(KmsError::validation(format!(
                "an account id is 12 digits, not {:?}",
                self.account
            )));
        }
        if !is_region_name(&self.region) {
            return Err(KmsError::validation(format!(
                "{:?} is not a region name such as us-east-1",
                self.region
            )));
        }
        Ok(())
    }
}

/// What a key file was when last read: its hash, and its record or its damage.
#[derive(Clone)]
enum Loaded {
    Key(Arc<KeyRecord>),
    Damaged(String),
}

struct Cache {
    /// `None`: not loaded, `GENERATION` unreadable, or a failed write left it unknown.
    generation: Option<u64>,
    state: Arc<State>,
    /// Each key file as last read, to skip re-parsing unchanged ones.
    files: HashMap<String, ([u8; 32], Loaded)>,
}

pub(crate) struct Store {
    dir: PathBuf,
    kek: Zeroizing<[u8; 32]>,
    mac_key: Zeroizing<[u8; 32]>,
    material_id_key: Zeroizing<[u8; 32]>,
    cache: RwLock<Cache>,
    writer: Mutex<()>,
    log: RwLock<Log>,
    /// Reports already logged (each damage once per file content).
    reported: Mutex<HashSet<String>>,
    /// Reports made while opening, delivered by the first read or write (so a
    /// log set right after opening receives them).
    pending: Mutex<Option<Vec<String>>>,
    flushed: std::sync::atomic::AtomicBool,
}

/// A key id as it may appear in a file name: a lower-case UUID.
pub(crate) fn is_key_id(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> KmsError {
    KmsError::internal("The keystore is damaged: its configuration cannot be read").with_detail(
        format!("the keystore file {} is damaged: {why}", path.display()),
    )
}

fn verifier_aad(format: u32, store_id: &str) -> String {
    format!("deadbolt-kms/v{format}/verifier/{store_id}")
}

fn config_mac_text(cfg: &StoreConfig) -> String {
    format!(
        "deadbolt-kms/v2/config\n{}\n{}\n{}\n{}",
        cfg.format, cfg.store_id, cfg.region, cfg.account
    )
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
        let store = Store {
            dir: dir.to_path_buf(),
            kek: root.derive("deadbolt-kms/v1/key-encryption-key"),
            mac_key: root.derive("deadbolt-kms/v2/record-mac"),
            material_id_key: root.derive("deadbolt-kms/v2/key-material-id"),
            cache: RwLock::new(Cache {
                generation: None,
                state: Arc::new(State {
                    config: StoreConfig {
                        format: STORE_FORMAT,
                        store_id: String::new(),
                        region: String::new(),
                        account: String::new(),
                        created: now,
                        verifier: Sealed {
                            nonce: String::new(),
                            data: String::new(),
                        },
                        mac: None,
                    },
                    keys: BTreeMap::new(),
                    damaged: BTreeMap::new(),
                    aliases: Aliases::new(),
                    aliases_damage: None,
                }),
                files: HashMap::new(),
            }),
            writer: Mutex::new(()),
            log: RwLock::new(stderr_log()),
            reported: Mutex::new(HashSet::new()),
            pending: Mutex::new(Some(Vec::new())),
            flushed: std::sync::atomic::AtomicBool::new(false),
        };
        let cfg_path = dir.join("config.json");
        // Readers of an existing store need only the shared lock (the store may
        // be read-only); creating or upgrading one takes the exclusive lock.
        let mut lock = lock_file(dir, false)?;
        let mut config = match read_optional(&cfg_path)? {
            Some(bytes) => Some(store.check_config(&bytes, &cfg_path)?),
            None => None,
        };
        if config.as_ref().is_none_or(|c| c.format != STORE_FORMAT) {
            drop(lock);
            lock = lock_file(dir, true).map_err(|e| {
                if config.is_some() {
                    migrate::needs_write_access(dir, e)
                } else {
                    e
                }
            })?;
            config = match read_optional(&cfg_path)? {
                Some(bytes) => Some(store.check_config(&bytes, &cfg_path)?),
                None => None,
            };
            config = Some(match config {
                None => store.create_config(opts, now)?,
                Some(c) if c.format == 1 => migrate::upgrade(&store, c)?,
                Some(c) => c,
            });
        }
        let config = config.expect("read or created");
        if require_opts && (config.region != opts.region || config.account != opts.account) {
            return Err(KmsError::already_exists(format!(
                "the keystore already exists for region {} and account {}",
                config.region, config.account
            ))
            .with_detail(format!(
                "the keystore at {} already exists for region {} and account {}",
                dir.display(),
                config.region,
                config.account
            )));
        }
        if !dir.join("keys").is_dir() {
            make_dir(&dir.join("keys"))?;
        }
        drop(lock);
        if let Some(w) = exposure_warning(dir) {
            store.report(&w);
        }
        {
            let mut c = store.cache.write().unwrap_or_else(|e| e.into_inner());
            Arc::make_mut(&mut c.state).config = config;
        }
        Ok(store)
    }

    /// Parses and authenticates `config.json`.
    fn check_config(&self, bytes: &[u8], path: &Path) -> Result<StoreConfig, KmsError> {
        let cfg: StoreConfig = serde_json::from_slice(bytes).map_err(|e| damaged(path, e))?;
        if cfg.format != 1 && cfg.format != STORE_FORMAT {
            return Err(KmsError::internal(format!(
                "the keystore has format {}; this deadbolt reads formats 1 and {STORE_FORMAT}",
                cfg.format
            ))
            .with_detail(format!(
                "the keystore at {} has format {}; this deadbolt reads formats 1 and {STORE_FORMAT}",
                self.dir.display(),
                cfg.format
            )));
        }
        let nonce = cfg
            .verifier
            .nonce_bytes()
            .ok_or_else(|| damaged(path, "bad verifier"))?;
        let data = cfg
            .verifier
            .data_bytes()
            .ok_or_else(|| damaged(path, "bad verifier"))?;
        let aad = verifier_aad(cfg.format, &cfg.store_id);
        match crypto::open(&self.kek, &nonce, &data, aad.as_bytes()) {
            Some(p) if p.as_slice() == VERIFIER_PLAINTEXT => {}
            _ => {
                return Err(KmsError::internal(
                    "the keystore was created with a different root key",
                )
                .with_detail(format!(
                    "the keystore at {} was created with a different root key",
                    self.dir.display()
                )))
            }
        }
        if cfg.format == STORE_FORMAT {
            let want = signed::mac_text(&self.mac_key, &config_mac_text(&cfg));
            if cfg.mac.as_deref() != Some(want.as_str()) {
                return Err(damaged(
                    path,
                    "its region, account or store id was altered (the MAC does not verify)",
                ));
            }
        }
        Ok(cfg)
    }

    /// A new, authenticated `StoreConfig` (the verifier sealed for `format`).
    fn sealed_config(
        &self,
        store_id: String,
        region: String,
        account: String,
        created: f64,
    ) -> Result<StoreConfig, KmsError> {
        let nonce = crypto::random_nonce()?;
        let aad = verifier_aad(STORE_FORMAT, &store_id);
        let data = crypto::seal(&self.kek, &nonce, VERIFIER_PLAINTEXT, aad.as_bytes());
        let mut cfg = StoreConfig {
            format: STORE_FORMAT,
            store_id,
            region,
            account,
            created,
            verifier: Sealed {
                nonce: B64.encode(nonce),
                data: B64.encode(data),
            },
            mac: None,
        };
        cfg.mac = Some(signed::mac_text(&self.mac_key, &config_mac_text(&cfg)));
        Ok(cfg)
    }

    fn write_config(&self, cfg: &StoreConfig) -> Result<(), KmsError> {
        let bytes = serde_json::to_vec_pretty(cfg).expect("serializable");
        write_atomic(&self.dir, "config.json", &bytes)?;
        sync_dir(&self.dir)
    }

    fn create_config(&self, opts: &StoreOptions, now: f64) -> Result<StoreConfig, KmsError> {
        let keys_dir = self.dir.join("keys");
        if let Ok(rd) = fs::read_dir(&keys_dir) {
            let any = rd
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".json"));
            if any {
                return Err(KmsError::internal(
                    "the keystore has keys but no configuration: it is damaged",
                )
                .with_detail(format!(
                    "the keystore at {} has keys but no config.json: it is damaged",
                    self.dir.display()
                )));
            }
        }
        let cfg = self.sealed_config(
            uuid::Uuid::new_v4().to_string(),
            opts.region.clone(),
            opts.account.clone(),
            now,
        )?;
        make_dir(&keys_dir)?;
        sync_dir(&self.dir)?;
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        self.write_config(&cfg)?;
        Ok(cfg)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the log (see [`Log`]).
    pub fn set_log(&self, log: Log) {
        *self.log.write().unwrap_or_else(|e| e.into_inner()) = log;
    }

    /// Reports `msg` to the log, once.
    fn report(&self, msg: &str) {
        let fresh = self
            .reported
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(msg.to_string());
        if !fresh {
            return;
        }
        if let Some(p) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            p.push(msg.to_string());
            return;
        }
        let log = self.log.read().unwrap_or_else(|e| e.into_inner()).clone();
        log(msg);
    }

    /// Delivers what was reported while opening (once; an atomic flag keeps
    /// every later read free of the lock).
    fn flush_reports(&self) {
        if self.flushed.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        self.flushed
            .store(true, std::sync::atomic::Ordering::Release);
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(msgs) = pending {
            let log = self.log.read().unwrap_or_else(|e| e.into_inner()).clone();
            for m in msgs {
                log(&m);
            }
        }
    }

    /// `Ok(None)`: `GENERATION` exists but is not a number (reported; every
    /// read then reloads, and the next write repairs it).
    fn read_generation(&self) -> Result<Option<u64>, KmsError> {
        let p = self.dir.join("GENERATION");
        match read_optional(&p)? {
            None => Ok(Some(0)),
            Some(b) => {
                let n = std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                if n.is_none() {
                    self.report(&format!(
                        "the keystore file {} is damaged (not a number); every read reloads the \
                         keystore until the next write repairs it",
                        p.display()
                    ));
                }
                Ok(n)
            }
        }
    }

    /// The alias table as stored (empty when absent), or what is wrong with it.
    fn load_aliases(&self, store_id: &str) -> Result<Result<Aliases, String>, KmsError> {
        let path = self.dir.join("aliases.json");
        let bytes = match read_optional(&path) {
            Ok(None) => return Ok(Ok(Aliases::new())),
            Ok(Some(b)) => b,
            Err(e) => return Ok(Err(e.owner_message().to_string())),
        };
        Ok(
            signed::open(&self.mac_key, "aliases", store_id, "aliases", &bytes).map_err(|why| {
                let hash = hex::encode(&Sha256::digest(&bytes)[..8]);
                format!(
                    "the keystore file {} is damaged: {why}; aliases are unusable until it is \
                     restored (content {hash})",
                    path.display()
                )
            }),
        )
    }

    /// Loads the files into `cache` (under a lock held by the caller).
    fn reload(&self, cache: &mut Cache, generation: Option<u64>) -> Result<(), KmsError> {
        let config = cache.state.config.clone();
        let (aliases, aliases_damage) = match self.load_aliases(&config.store_id)? {
            Ok(a) => (a, None),
            Err(d) => {
                self.report(&d);
                (Aliases::new(), Some(d))
            }
        };
        let keys_dir = self.dir.join("keys");
        let mut keys = BTreeMap::new();
        let mut damaged = BTreeMap::new();
        let mut files = HashMap::new();
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
            let loaded = match read_optional(&path) {
                Ok(None) => continue,
                Ok(Some(bytes)) => {
                    let hash: [u8; 32] = Sha256::digest(&bytes).into();
                    let l = match cache.files.get(id) {
                        Some((h, l)) if *h == hash => l.clone(),
                        _ => self.parse_key_file(id, &path, &bytes, &config),
                    };
                    files.insert(id.to_string(), (hash, l.clone()));
                    l
                }
                Err(e) => Loaded::Damaged(format!(
                    "the keystore file of key {id} cannot be read: {}",
                    e.owner_message()
                )),
            };
            match loaded {
                Loaded::Key(rec) => {
                    keys.insert(id.to_string(), rec);
                }
                Loaded::Damaged(d) => {
                    self.report(&d);
                    damaged.insert(id.to_string(), d);
                }
            }
        }
        cache.state = Arc::new(State {
            config,
            keys,
            damaged,
            aliases,
            aliases_damage,
        });
        cache.files = files;
        cache.generation = generation;
        Ok(())
    }

    fn parse_key_file(&self, id: &str, path: &Path, bytes: &[u8], cfg: &StoreConfig) -> Loaded {
        let hash = hex::encode(&Sha256::digest(bytes)[..8]);
        let bad = |why: String| {
            Loaded::Damaged(format!(
                "the keystore file {} is damaged: {why}; key {id} is unusable until the file is \
                 restored (content {hash})",
                path.display()
            ))
        };
        match signed::open::<KeyRecord>(&self.mac_key, "key", &cfg.store_id, id, bytes) {
            Err(why) => bad(why.to_string()),
            Ok(rec) if rec.key_id != id => {
                bad("the key id inside does not match the file name".into())
            }
            Ok(rec) if !is_region_name(&rec.region) => {
                bad(format!("its region {:?} is not a region name", rec.region))
            }
            Ok(rec) => Loaded::Key(Arc::new(rec)),
        }
    }

    /// A consistent snapshot of the store, reloaded if another process wrote.
    pub fn snapshot(&self) -> Result<Arc<State>, KmsError> {
        self.flush_reports();
        let lock = lock_file(&self.dir, false)?;
        let generation = self.read_generation()?;
        {
            let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if generation.is_some() && c.generation == generation {
                return Ok(c.state.clone());
            }
        }
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if generation.is_none() || c.generation != generation {
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
        self.flush_reports();
        let _serial = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _lock = lock_file(&self.dir, true)?;
        self.remove_temp_files();
        let generation = self.read_generation()?;
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if generation.is_none() || c.generation != generation {
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
        let store_id = base.config.store_id.clone();
        // From here on the cache is unknown until the commit completes.
        c.generation = None;
        let next = match generation {
            Some(g) => g + 1,
            // A damaged counter: a value no cache can hold.
            None => (now * 1e6) as u64,
        };
        write_atomic(&self.dir, "GENERATION", format!("{next}\n").as_bytes())?;
        sync_dir(&self.dir)?;
        let keys_dir = self.dir.join("keys");
        let mut written = Vec::new();
        for (id, rec) in &keys {
            if let Some(rec) = rec {
                let bytes = signed::seal(&self.mac_key, "key", &store_id, id, rec);
                write_atomic(&keys_dir, &format!("{id}.json"), &bytes)?;
                written.push((id.clone(), <[u8; 32]>::from(Sha256::digest(&bytes))));
            }
        }
        if !written.is_empty() {
            sync_dir(&keys_dir)?;
        }
        if let Some(a) = &aliases {
            let bytes = signed::seal(&self.mac_key, "aliases", &store_id, "aliases", a);
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
        let hashes: HashMap<String, [u8; 32]> = written.into_iter().collect();
        for (id, rec) in keys {
            c.files.remove(&id);
            match rec {
                Some(r) => {
                    let r = Arc::new(r);
                    if let Some(h) = hashes.get(&id) {
                        c.files.insert(id.clone(), (*h, Loaded::Key(r.clone())));
                    }
                    state.keys.insert(id, r);
                }
                None => {
                    state.keys.remove(&id);
                }
            }
        }
        if let Some(a) = aliases {
            state.aliases = a;
            state.aliases_damage = None;
        }
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
                "the key material of {} version {version} does not decrypt under the root key: \
                 the keystore is damaged",
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

    /// The public id of backing key `version` of `key_id` (`KeyMaterialId`):
    /// 64 hex digits, derived under the root key so it reveals nothing of the
    /// material.
    pub fn material_id(&self, key_id: &str, version: u32) -> String {
        signed::mac_text(
            &self.material_id_key,
            &format!("deadbolt-kms/v2/key-material-id/{key_id}/{version}"),
        )
    }
}

fn material_aad(key_id: &str, version: u32) -> String {
    format!("deadbolt-kms/v1/key-material/{key_id}/{version}")
}

/// Keys whose waiting period is over are deleted, with their aliases. A
/// damaged alias table is left alone (its owner restores it).
fn purge_expired(tx: &mut Tx<'_>) {
    let now = tx.now;
    let expired: Vec<String> = tx
        .key_ids()
        .into_iter()
        .filter(|id| tx.key(id).is_some_and(|k| k.is_deleted(now)))
        .collect();
    if tx.base.aliases_damage.is_none() {
        let mut dangling: Vec<(String, String)> = Vec::new();
        for (region, names) in &tx.base.aliases {
            for (n, a) in names {
                let gone = expired.contains(&a.target)
                    || (tx.key(&a.target).is_none() && tx.damage(&a.target).is_none());
                if gone {
                    dangling.push((region.clone(), n.clone()));
                }
            }
        }
        for (region, n) in dangling {
            if let Ok(a) = tx.aliases_mut(&region) {
                a.remove(&n);
            }
        }
    }
    for id in expired {
        tx.delete_key(&id);
    }
}

#[cfg(test)]
mod tests;
