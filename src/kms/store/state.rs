//! What one process sees of the store ([`State`]), the read access a snapshot
//! and a transaction share ([`View`]), and the changes of a write
//! transaction ([`Tx`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kms::error::KmsError;
use crate::kms::model::{AliasRecord, Aliases, KeyRecord, StoreConfig};

/// The whole store as one process sees it.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub config: StoreConfig,
    /// The keys whose files read back whole and authentic.
    pub keys: BTreeMap<String, Arc<KeyRecord>>,
    /// Key files that do not: key id -> what is wrong (with the path, for logs).
    pub damaged: BTreeMap<String, String>,
    pub aliases: Aliases,
    /// What is wrong with `aliases.json`, when it is damaged (aliases are then empty).
    pub aliases_damage: Option<String>,
}

static NO_ALIASES: BTreeMap<String, AliasRecord> = BTreeMap::new();

fn aliases_damaged(detail: &str) -> KmsError {
    KmsError::internal(
        "The keystore's alias table is damaged or was altered: aliases cannot be used until its \
         owner restores it",
    )
    .with_detail(detail.to_string())
}

/// Read access shared by a snapshot and a transaction in progress.
pub(crate) trait View {
    fn config(&self) -> &StoreConfig;
    /// A key whose record is whole and authentic (any region).
    fn key(&self, id: &str) -> Option<&KeyRecord>;
    /// The ids of those keys, sorted.
    fn key_ids(&self) -> Vec<String>;
    /// What is wrong with the record of key `id`, when it is damaged.
    fn damage(&self, id: &str) -> Option<&str>;
    /// The aliases of one region (`KMSInternalException` when the table is damaged).
    fn aliases(&self, region: &str) -> Result<&BTreeMap<String, AliasRecord>, KmsError>;
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
    fn damage(&self, id: &str) -> Option<&str> {
        self.damaged.get(id).map(String::as_str)
    }
    fn aliases(&self, region: &str) -> Result<&BTreeMap<String, AliasRecord>, KmsError> {
        if let Some(d) = &self.aliases_damage {
            return Err(aliases_damaged(d));
        }
        Ok(self.aliases.get(region).unwrap_or(&NO_ALIASES))
    }
}

/// Changes being made by one write transaction.
pub(crate) struct Tx<'a> {
    pub(super) base: &'a State,
    pub(super) keys: BTreeMap<String, Option<KeyRecord>>,
    pub(super) aliases: Option<Aliases>,
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
    fn damage(&self, id: &str) -> Option<&str> {
        self.base.damage(id)
    }
    fn aliases(&self, region: &str) -> Result<&BTreeMap<String, AliasRecord>, KmsError> {
        match &self.aliases {
            Some(a) => Ok(a.get(region).unwrap_or(&NO_ALIASES)),
            None => self.base.aliases(region),
        }
    }
}

impl Tx<'_> {
    /// A key to change; `None` when it does not exist or its record is damaged
    /// (a damaged file is never overwritten).
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
    /// The aliases of one region, to change.
    pub fn aliases_mut(
        &mut self,
        region: &str,
    ) -> Result<&mut BTreeMap<String, AliasRecord>, KmsError> {
        if self.aliases.is_none() {
            if let Some(d) = &self.base.aliases_damage {
                return Err(aliases_damaged(d));
            }
            self.aliases = Some(self.base.aliases.clone());
        }
        let all = self.aliases.as_mut().expect("just set");
        Ok(all.entry(region.to_string()).or_default())
    }
    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.aliases.is_none()
    }
}
