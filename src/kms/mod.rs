//! The built-in KMS: keys, crypto, key policies and grants, a crash-safe keystore,
//! envelope encryption of files, and an AWS-compatible JSON endpoint (`server`).
//!
//! - [`Kms`] is a handle on an open keystore (cheap to clone, `Send + Sync`).
//!   [`Kms::call`] runs one AWS KMS operation with AWS JSON 1.1 semantics — the
//!   endpoint and the `deadbolt kms` command line both go through it — and the
//!   typed methods ([`Kms::describe`], [`Kms::policy_allows`],
//!   [`Kms::decrypt_blob`], ...) serve the policy engine in-process.
//! - [`crypto`] documents the ciphertext blob format, [`envelope`] the
//!   encrypted file format, [`store`] the keystore's files and guarantees, and
//!   [`policy`] how key policies are evaluated.

mod api;
pub mod crypto;
pub mod envelope;
pub mod error;
mod input;
pub mod model;
mod ops;
pub mod policy;
pub mod regions;
pub mod rootkey;
pub mod server;
pub mod store;
pub mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub use crypto::EncryptionContext;
pub use envelope::{decrypt_envelope_file, verify_sample};
pub use error::KmsError;
pub use model::{GrantConstraints, KeyInfo, KeyManager, KeyState};
pub use ops::{MAX_ON_DEMAND_ROTATIONS, OPERATIONS};
pub use rootkey::RootKey;
pub use store::{Log, StoreOptions};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// An ARN such as `arn:aws:iam::111122223333:user/alice`, the account root
    /// `arn:aws:iam::111122223333:root`, or a service principal.
    pub principal: String,
    /// The caller's 12-digit account id.
    pub account: String,
    /// The `kms:ViaService` value when an AWS service calls on the principal's
    /// behalf (e.g. `ec2.us-east-1.amazonaws.com`).
    pub via_service: Option<String>,
    /// The region the request is sent to (the endpoint takes it from the
    /// SigV4 credential scope). `None`, for in-process callers: keys named by
    /// id are found in any region, and aliases, new keys and lists are those
    /// of the keystore's home region.
    pub region: Option<String>,
}

impl Caller {
    /// The account root: what the CLI and `--allow-unsigned` act as.
    pub fn local_admin(account: &str) -> Caller {
        Caller {
            principal: format!("arn:aws:iam::{account}:root"),
            account: account.to_string(),
            via_service: None,
            region: None,
        }
    }

    /// The same caller, sending its requests to `region`.
    pub fn in_region(mut self, region: impl Into<String>) -> Caller {
        self.region = Some(region.into());
        self
    }

    /// A caller from a principal: an IAM/STS ARN (its account is taken from
    /// it), or a 12-digit account id (that account's root).
    pub fn from_principal(principal: &str) -> Caller {
        if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
            return Caller::local_admin(principal);
        }
        Caller {
            principal: principal.to_string(),
            account: policy::arn_account(principal).unwrap_or("").to_string(),
            via_service: None,
            region: None,
        }
    }
}

/// A key id (a lower-case UUID such as `1234abcd-12ab-34cd-56ef-1234567890ab`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.0
    }
}

/// A data key from [`Kms::generate_data_key`]: the plaintext (zeroized on
/// drop) and the same key encrypted under the KMS key.
pub struct DataKey {
    pub plaintext: zeroize::Zeroizing<Vec<u8>>,
    pub ciphertext_blob: Vec<u8>,
    pub key_id: KeyId,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"<redacted>")
            .field("ciphertext_blob", &self.ciphertext_blob.len())
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// A handle on an open keystore. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Kms {
    inner: Arc<Inner>,
}

struct Inner {
    store: store::Store,
    /// Added to the system clock (tests of deletion windows and rotation).
    clock_offset_ms: AtomicI64,
}

impl fmt::Debug for Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kms")
            .field("keystore", &self.inner.store.dir())
            .finish_non_exhaustive()
    }
}

fn system_now() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as f64 / 1000.0
}

impl Kms {
    /// Opens the keystore at `path`, creating it (region `us-east-1`, account
    /// `111122223333`) if absent.
    pub fn open(path: &Path, root_key: RootKey) -> Result<Kms, KmsError> {
        Kms::open_with(path, root_key, &StoreOptions::default())
    }

    /// Opens the keystore at `path`, creating it with `opts` if absent (an
    /// existing store keeps its own region and account).
    pub fn open_with(path: &Path, root_key: RootKey, opts: &StoreOptions) -> Result<Kms, KmsError> {
        let store = store::Store::open(path, &root_key, opts, false, system_now())?;
        Ok(Kms::from_store(store))
    }

    /// Creates a keystore with `opts`; an existing store at `path` is opened if
    /// it has the same region and account, else `AlreadyExistsException`.
    pub fn create(path: &Path, root_key: RootKey, opts: &StoreOptions) -> Result<Kms, KmsError> {
        let store = store::Store::open(path, &root_key, opts, true, system_now())?;
        Ok(Kms::from_store(store))
    }

    fn from_store(store: store::Store) -> Kms {
        Kms {
            inner: Arc::new(Inner {
                store,
                clock_offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// The keystore directory.
    pub fn path(&self) -> PathBuf {
        self.inner.store.dir().to_path_buf()
    }

    /// Replaces where the keystore reports damage and readable files (stderr
    /// by default): each report once, with the file's path.
    pub fn set_log(&self, log: Log) {
        self.inner.store.set_log(log);
    }

    /// The store's home region and account (fixed when it was created).
    pub fn region(&self) -> Result<String, KmsError> {
        Ok(self.inner.store.snapshot()?.config.region.clone())
    }

    pub fn account(&self) -> Result<String, KmsError> {
        Ok(self.inner.store.snapshot()?.config.account.clone())
    }

    /// Moves this handle's clock forward (for tests of deletion windows and
    /// automatic rotation). Not for production use.
    #[doc(hidden)]
    pub fn advance_clock(&self, seconds: f64) {
        self.inner
            .clock_offset_ms
            .fetch_add((seconds * 1000.0) as i64, Ordering::SeqCst);
    }

    pub(crate) fn now(&self) -> f64 {
        system_now() + self.inner.clock_offset_ms.load(Ordering::SeqCst) as f64 / 1000.0
    }

    pub(crate) fn store(&self) -> &store::Store {
        &self.inner.store
    }
}

/// Parses `k=v` pairs (CLI `--context`) into an encryption context.
pub fn parse_context_pairs<S: AsRef<str>>(pairs: &[S]) -> Result<EncryptionContext, String> {
    let mut ctx = BTreeMap::new();
    for p in pairs {
        let p = p.as_ref();
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--context expects KEY=VALUE, got {p:?}"))?;
        if ctx.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("--context gives {k:?} twice"));
        }
    }
    Ok(ctx)
}
