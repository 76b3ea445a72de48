//! The root key: 32 bytes that encrypt every key's material at rest.
//!
//! It comes from `--root-key-file FILE` (the file must not be readable by group
//! or others), else `DEADBOLT_KMS_ROOT_KEY` (64 hex digits), else
//! `DEADBOLT_KMS_ROOT_KEY_FILE`. It is never written into the keystore; the store
//! only keeps a verifier that tells a wrong root key from a damaged store.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::crypto;
use super::error::KmsError;

/// Environment variable holding the root key as 64 hex digits.
pub const ROOT_KEY_ENV: &str = "DEADBOLT_KMS_ROOT_KEY";
/// Environment variable naming a root key file (used when neither a file nor
/// `DEADBOLT_KMS_ROOT_KEY` is given).
pub const ROOT_KEY_FILE_ENV: &str = "DEADBOLT_KMS_ROOT_KEY_FILE";

/// 32 secret bytes, zeroized on drop; `Debug` never shows them.
pub struct RootKey([u8; 32]);

impl Drop for RootKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl RootKey {
    /// 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<RootKey, KmsError> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KmsError::validation(format!(
                "a root key is 64 hex digits (32 bytes); got {} characters{}",
                s.len(),
                if s.len() == 64 {
                    " that are not all hex digits"
                } else {
                    ""
                }
            )));
        }
        let mut out = [0u8; 32];
        let mut bytes = Zeroizing::new(
            hex::decode(s).map_err(|_| KmsError::validation("a root key is 64 hex digits"))?,
        );
        out.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(RootKey(out))
    }

    /// A fresh random root key.
    pub fn generate() -> Result<RootKey, KmsError> {
        let mut out = [0u8; 32];
        crypto::fill_random(&mut out)?;
        Ok(RootKey(out))
    }

    /// The key as 64 lowercase hex digits (for writing a new root key file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// Reads a root key file: 64 hex digits; refused unless only its owner can
    /// read it (mode 0600 or 0400).
    pub fn from_file(path: &Path) -> Result<RootKey, KmsError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            KmsError::validation(format!("cannot read root key file {}: {e}", path.display()))
        })?;
        if !meta.is_file() {
            return Err(KmsError::validation(format!(
                "root key file {} is not a regular file",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KmsError::validation(format!(
                    "root key file {} has mode {mode:04o}: it must be readable by its owner only \
                     (run: chmod 600 {})",
                    path.display(),
                    path.display()
                )));
            }
        }
        if meta.len() > 4096 {
            return Err(KmsError::validation(format!(
                "root key file {} is too large: it should hold 64 hex digits",
                path.display()
            )));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            KmsError::validation(format!("cannot read root key file {}: {e}", path.display()))
        })?);
        RootKey::from_hex(&text).map_err(|e| {
            KmsError::validation(format!("root key file {}: {}", path.display(), e.message))
        })
    }

    /// The root key from `file` if given, else `DEADBOLT_KMS_ROOT_KEY` (64 hex
    /// digits), else the file named by `DEADBOLT_KMS_ROOT_KEY_FILE`.
    pub fn from_env_or_file(file: Option<&Path>) -> Result<RootKey, KmsError> {
        if let Some(f) = file {
            return RootKey::from_file(f);
        }
        if let Ok(v) = std::env::var(ROOT_KEY_ENV) {
            let v = Zeroizing::new(v);
            return RootKey::from_hex(&v)
                .map_err(|e| KmsError::validation(format!("{ROOT_KEY_ENV}: {}", e.message)));
        }
        if let Some(f) = std::env::var_os(ROOT_KEY_FILE_ENV) {
            return RootKey::from_file(Path::new(&f));
        }
        Err(KmsError::validation(format!(
            "no root key: set {ROOT_KEY_ENV} to 64 hex digits, or pass --root-key-file FILE \
             (a file of 64 hex digits, mode 0600; `deadbolt kms new-root-key FILE` makes one)"
        )))
    }

    /// A key derived for one purpose (HMAC-SHA256 of the label under the root key).
    pub(crate) fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(label.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&out);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_redaction() {
        let hexs = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let k = RootKey::from_hex(&format!("  {hexs}\n")).unwrap();
        assert_eq!(k.to_hex().as_str(), hexs);
        assert_eq!(format!("{k:?}"), "RootKey(<redacted>)");
        assert!(RootKey::from_hex("abcd").is_err());
        assert!(RootKey::from_hex(&"g".repeat(64)).is_err());
        assert_ne!(*k.derive("a"), *k.derive("b"));
    }

    #[cfg(unix)]
    #[test]
    fn file_mode_is_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("root.key");
        std::fs::write(&p, "11".repeat(32)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = RootKey::from_file(&p).unwrap_err();
        assert!(e.message.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(RootKey::from_file(&p).is_ok());
    }
}
