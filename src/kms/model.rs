//! What the keystore stores (one JSON document per key, one for the aliases of
//! every region, one for the store's configuration) and the public view of a key
//! ([`KeyInfo`]). How the documents are authenticated on disk is in
//! [`store`](super::store).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::crypto::EncryptionContext;
use super::error::KmsError;
use super::policy::KeyPolicy;

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Key material or a verifier sealed under the key-encryption key.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Sealed {
    /// 12-byte nonce, base64.
    pub nonce: String,
    /// AES-256-GCM ciphertext and tag, base64.
    pub data: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(<encrypted>)")
    }
}

impl Sealed {
    pub fn nonce_bytes(&self) -> Option<[u8; 12]> {
        let v = B64.decode(&self.nonce).ok()?;
        v.try_into().ok()
    }
    pub fn data_bytes(&self) -> Option<Vec<u8>> {
        B64.decode(&self.data).ok()
    }
}

/// `config.json`: written when the store is created (and when a format-1 store
/// is upgraded).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoreConfig {
    pub format: u32,
    pub store_id: String,
    /// The home region: where requests without a region of their own (the
    /// command line without `--region`, unsigned requests) are served.
    pub region: String,
    pub account: String,
    pub created: f64,
    /// A known plaintext sealed under the key-encryption key: tells a wrong
    /// root key from a damaged store.
    pub verifier: Sealed,
    /// Format 2: HMAC-SHA256 (hex) of the format, store id, home region and
    /// account under a key derived from the root key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mac: Option<String>,
}

/// The state of a key, as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who manages a key: `CUSTOMER` (made by `CreateKey`) or `AWS` (an AWS managed
/// key behind an `alias/aws/SERVICE` alias, made on first use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyManager {
    #[serde(rename = "CUSTOMER")]
    Customer,
    #[serde(rename = "AWS")]
    Aws,
}

impl KeyManager {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyManager::Customer => "CUSTOMER",
            KeyManager::Aws => "AWS",
        }
    }
}

impl fmt::Display for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One backing key (256-bit AES key) of a KMS key. Version 1 is made by
/// `CreateKey`; each rotation adds the next. All are kept, so every ciphertext
/// ever made still decrypts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BackingVersion {
    pub version: u32,
    pub created: f64,
    pub material: Sealed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RotationEvent {
    pub version: u32,
    pub date: f64,
    /// `AUTOMATIC` or `ON_DEMAND`.
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_context_subset: Option<EncryptionContext>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_context_equals: Option<EncryptionContext>,
}

impl GrantConstraints {
    /// Whether a request with this encryption context satisfies the constraints.
    pub fn allow(&self, ctx: Option<&EncryptionContext>) -> bool {
        let empty = EncryptionContext::new();
        let ctx = ctx.unwrap_or(&empty);
        if let Some(eq) = &self.encryption_context_equals {
            if eq != ctx {
                return false;
            }
        }
        if let Some(sub) = &self.encryption_context_subset {
            if !sub.iter().all(|(k, v)| ctx.get(k) == Some(v)) {
                return false;
            }
        }
        true
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub grant_id: String,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    pub created: f64,
    pub grantee: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retiring: Option<String>,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub constraints: Option<GrantConstraints>,
    pub issuing_account: String,
}

impl fmt::Debug for GrantRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantRecord")
            .field("grant_id", &self.grant_id)
            .field("grantee", &self.grantee)
            .field("operations", &self.operations)
            .finish_non_exhaustive()
    }
}

/// One key: the body of `keys/<key id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    pub format: u32,
    pub key_id: String,
    /// The region the key was made in (its ARN carries it).
    #[serde(default)]
    pub region: String,
    pub created: f64,
    pub description: String,
    pub state: KeyState,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub deletion_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pending_window_days: Option<u32>,
    pub manager: KeyManager,
    pub origin: String,
    pub spec: String,
    pub usage: String,
    pub policy: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub rotation_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rotation_period_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_rotation: Option<f64>,
    #[serde(default)]
    pub rotations: Vec<RotationEvent>,
    pub versions: Vec<BackingVersion>,
    #[serde(default)]
    pub grants: Vec<GrantRecord>,
    /// The parsed `policy`, made on first use.
    #[serde(skip)]
    pub parsed_policy: OnceLock<Result<KeyPolicy, KmsError>>,
}

impl KeyRecord {
    /// Gone: its deletion date has passed (it is removed at the next write).
    pub fn is_deleted(&self, now: f64) -> bool {
        self.state == KeyState::PendingDeletion && self.deletion_date.is_some_and(|d| d <= now)
    }

    pub fn current_version(&self) -> u32 {
        self.versions.iter().map(|v| v.version).max().unwrap_or(1)
    }

    pub fn rotation_due(&self, now: f64) -> bool {
        self.state == KeyState::Enabled
            && self.rotation_enabled
            && self.next_rotation.is_some_and(|t| t <= now)
    }

    pub fn policy(&self) -> Result<&KeyPolicy, KmsError> {
        self.parsed_policy
            .get_or_init(|| KeyPolicy::parse(&self.policy))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn set_policy(&mut self, doc: String) {
        self.policy = doc;
        self.parsed_policy = OnceLock::new();
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AliasRecord {
    pub target: String,
    pub created: f64,
    pub updated: f64,
}

/// Aliases by region, then by name (`alias/...`): the body of `aliases.json`.
pub(crate) type Aliases = BTreeMap<String, BTreeMap<String, AliasRecord>>;

/// `aliases.json` of a format-1 store (one region).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AliasFileV1 {
    pub format: u32,
    pub aliases: BTreeMap<String, AliasRecord>,
}

/// A key as the typed API shows it (what `DescribeKey` says, plus aliases,
/// policy, tags and the rotation schedule).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyInfo {
    pub key_id: String,
    pub arn: String,
    pub account: String,
    /// The region the key lives in.
    pub region: String,
    pub state: KeyState,
    pub enabled: bool,
    pub manager: KeyManager,
    /// `SYMMETRIC_DEFAULT`.
    pub spec: String,
    /// `ENCRYPT_DECRYPT`.
    pub usage: String,
    /// `AWS_KMS`.
    pub origin: String,
    pub description: String,
    pub rotation_enabled: bool,
    pub rotation_period_days: Option<u32>,
    /// Epoch seconds of the next automatic rotation.
    pub next_rotation: Option<f64>,
    /// How many backing key versions the key has (1 + rotations).
    pub backing_versions: u32,
    /// The id of the current backing key (`CurrentKeyMaterialId`: 64 hex
    /// digits; it changes on every rotation).
    pub current_key_material_id: String,
    /// Alias names (`alias/...`), sorted.
    pub aliases: Vec<String>,
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Epoch seconds.
    pub created: f64,
    /// Epoch seconds; set while `PendingDeletion`.
    pub deletion_date: Option<f64>,
}
