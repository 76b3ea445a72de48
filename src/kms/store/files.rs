//! File primitives of the keystore: the lock, atomic replacement, directory
//! syncs, and reads that tell "absent" from "unreadable". Every error names the
//! file in its detail only (see [`KmsError::io`]).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use crate::kms::crypto;
use crate::kms::error::KmsError;

pub(super) fn io_err(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> KmsError {
    move |e| KmsError::io(what, e)
}

// `File::lock` is stable since Rust 1.89 (Cargo.toml's rust-version).
pub(super) fn lock_file(dir: &Path, exclusive: bool) -> Result<File, KmsError> {
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

pub(super) fn sync_dir(dir: &Path) -> Result<(), KmsError> {
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

/// Temp file (mode 0600) + fsync + rename; the caller syncs the directory.
pub(super) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KmsError> {
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

/// The file's bytes, `None` when it does not exist.
pub(super) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, KmsError> {
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

pub(super) fn make_dir(path: &Path) -> Result<(), KmsError> {
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

/// The permission bits of `meta` when others than the owner may use it.
fn open_to_others(meta: &fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(mode);
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    None
}

/// One warning when other users can read the keystore (its directories or
/// any of its files), with the command that fixes it — once per keystore per
/// process, however often it is opened.
pub(super) fn exposure_warning(dir: &Path) -> Option<String> {
    static WARNED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut dirs = 0usize;
    let mut files = 0usize;
    for d in [dir.to_path_buf(), dir.join("keys")] {
        if fs::metadata(&d)
            .ok()
            .as_ref()
            .and_then(open_to_others)
            .is_some()
        {
            dirs += 1;
        }
        if let Ok(rd) = fs::read_dir(&d) {
            for e in rd.flatten() {
                let meta = e.metadata();
                if meta.as_ref().is_ok_and(|m| m.is_file())
                    && meta.ok().as_ref().and_then(open_to_others).is_some()
                {
                    files += 1;
                }
            }
        }
    }
    if dirs + files == 0 {
        return None;
    }
    let canonical = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned.contains(&canonical) {
        return None;
    }
    warned.push(canonical);
    Some(format!(
        "other users can read the keystore at {} ({dirs} director{} and {files} file{} open to \
         group or others; run: chmod -R go-rwx {})",
        dir.display(),
        if dirs == 1 { "y" } else { "ies" },
        if files == 1 { "" } else { "s" },
        dir.display()
    ))
}
