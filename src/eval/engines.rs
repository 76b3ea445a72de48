//! What policies can ask the engines: the keys a keystore holds (`kms.key`,
//! `kms.allows`) and whether data samples really decrypt (`kms.decrypts`).
//! The evaluator sees engines through these traits, so it does not depend on how
//! a keystore is stored or served.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What a keystore knows about one key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyView {
    pub id: String,
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    pub spec: String,
    pub usage: String,
    pub origin: String,
    pub rotation_enabled: bool,
    pub aliases: Vec<String>,
}

/// Whether a sample decrypted, and if not, why.
#[derive(Clone, Debug, PartialEq)]
pub enum Decryption {
    Decrypts,
    Fails(String),
}

/// A keystore as the evaluator sees it.
pub trait KeyDirectory: Send + Sync {
    /// The key a key id, key ARN, alias name or alias ARN names; `None` when the
    /// keystore has no such key.
    fn describe(&self, key_ref: &str) -> Result<Option<KeyView>, String>;
    /// Whether the key policy (and grants) let `principal` perform `action`.
    fn allows(&self, key_ref: &str, principal: &str, action: &str) -> Result<bool, String>;
    /// Decrypts an envelope-encrypted sample and checks that it was encrypted
    /// under `key_ref` with exactly `context`.
    fn decrypts(
        &self,
        bytes: &[u8],
        key_ref: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Decryption, String>;
}

/// One data sample from a samples manifest: the file that holds a resource's data,
/// the key it claims to be encrypted under, and the encryption context.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Resource id or address (`*` and `?` globs).
    pub resource: String,
    pub file: PathBuf,
    pub key: String,
    pub context: BTreeMap<String, String>,
}

/// The engines a scan can consult.
#[derive(Clone, Default)]
pub struct Engines {
    pub keys: Option<Arc<dyn KeyDirectory>>,
    pub samples: Vec<Sample>,
    /// `--threat-list NAME=PATH` lists, by name.
    pub threat_lists: BTreeMap<String, Arc<crate::detect::lists::ThreatList>>,
    /// Lists that were given but could not be read (name to path): their
    /// unknowns point at the error rather than say the list is missing.
    pub unreadable_lists: BTreeMap<String, String>,
    /// `--trusted-list`: addresses and domains that are never a threat.
    pub trusted: Option<Arc<crate::detect::lists::ThreatList>>,
    /// `--aws-ip-ranges`: AWS's published ranges.
    pub aws_ranges: Option<Arc<crate::detect::lists::IpSet>>,
    /// `--inventory` and `--advisories`: package inventories matched once
    /// against the advisories, read by `vulnerabilities(...)`.
    pub packages: Option<Arc<crate::inspector::packages::scan::PackageScan>>,
}

impl fmt::Debug for Engines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engines")
            .field("keys", &self.keys.as_ref().map(|_| "keystore"))
            .field("samples", &self.samples.len())
            .field(
                "threat_lists",
                &self.threat_lists.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}
