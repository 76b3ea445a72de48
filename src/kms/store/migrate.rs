//! The upgrade of a format-1 keystore (one region, unauthenticated files) to
//! format 2, in place, under the exclusive lock: every key moves to the home
//! region and every document is signed; `config.json` is rewritten last. A
//! crash part-way leaves a format-1 `config.json` beside some already-signed
//! files, and the next open finishes the job (signed files are recognised and
//! kept as they are).

use std::fs;
use std::path::Path;

use super::files::{io_err, read_optional, sync_dir, write_atomic};
use super::{is_key_id, signed, Store, STORE_FORMAT};
use crate::kms::error::KmsError;
use crate::kms::model::{AliasFileV1, Aliases, KeyRecord, StoreConfig};

/// The error when a format-1 store cannot be upgraded for want of write access.
pub(super) fn needs_write_access(dir: &Path, e: KmsError) -> KmsError {
    let why = e.owner_message().to_string();
    KmsError::internal(
        "the keystore has format 1 and must be upgraded to format 2 by opening it once with \
         write access",
    )
    .with_detail(format!(
        "the keystore at {} has format 1; deadbolt upgrades it to format {STORE_FORMAT} \
         (regions, authenticated records) when it opens it, which needs write access: {why}",
        dir.display()
    ))
}

pub(super) fn upgrade(store: &Store, old: StoreConfig) -> Result<StoreConfig, KmsError> {
    let dir = store.dir.clone();
    let cfg = store.sealed_config(
        old.store_id.clone(),
        old.region.clone(),
        old.account.clone(),
        old.created,
    )?;
    let keys_dir = dir.join("keys");
    let mut upgraded = 0usize;
    if keys_dir.is_dir() {
        let rd = fs::read_dir(&keys_dir)
            .map_err(io_err(format!("cannot list {}", keys_dir.display())))?;
        for entry in rd {
            let entry = entry.map_err(io_err(format!("cannot list {}", keys_dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|id| is_key_id(id)) else {
                continue;
            };
            let path = entry.path();
            let Some(bytes) = read_optional(&path)? else {
                continue;
            };
            let already =
                signed::open::<KeyRecord>(&store.mac_key, "key", &cfg.store_id, id, &bytes);
            if already.is_ok() {
                continue;
            }
            match serde_json::from_slice::<KeyRecord>(&bytes) {
                Ok(mut rec) if rec.key_id == id => {
                    if rec.region.is_empty() {
                        rec.region = old.region.clone();
                    }
                    rec.format = STORE_FORMAT;
                    let out = signed::seal(&store.mac_key, "key", &cfg.store_id, id, &rec);
                    write_atomic(&keys_dir, &name, &out)?;
                    upgraded += 1;
                }
                _ => store.report(&format!(
                    "the keystore file {} is not a valid format-1 key record; it was left as it \
                     is and key {id} is unusable until it is restored",
                    path.display()
                )),
            }
        }
        sync_dir(&keys_dir)?;
    }
    let aliases_path = dir.join("aliases.json");
    if let Some(bytes) = read_optional(&aliases_path)? {
        let already =
            signed::open::<Aliases>(&store.mac_key, "aliases", &cfg.store_id, "aliases", &bytes);
        if already.is_err() {
            match serde_json::from_slice::<AliasFileV1>(&bytes) {
                Ok(v1) => {
                    let mut all = Aliases::new();
                    if !v1.aliases.is_empty() {
                        all.insert(old.region.clone(), v1.aliases);
                    }
                    let out =
                        signed::seal(&store.mac_key, "aliases", &cfg.store_id, "aliases", &all);
                    write_atomic(&dir, "aliases.json", &out)?;
                }
                Err(e) => store.report(&format!(
                    "the keystore file {} is not a valid format-1 alias table ({e}); it was left \
                     as it is and aliases are unusable until it is restored",
                    aliases_path.display()
                )),
            }
        }
    }
    // Readers with a cache of the old files reload.
    let generation = read_optional(&dir.join("GENERATION"))?
        .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    write_atomic(
        &dir,
        "GENERATION",
        format!("{}\n", generation + 1).as_bytes(),
    )?;
    sync_dir(&dir)?;
    store.write_config(&cfg)?;
    store.report(&format!(
        "upgraded the keystore at {} from format 1 to format {STORE_FORMAT}: {upgraded} key(s) \
         now in region {}, every record authenticated under the root key",
        dir.display(),
        old.region
    ));
    Ok(cfg)
}
