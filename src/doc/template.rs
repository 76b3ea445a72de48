use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Pos, Value};

/// Where a resource was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    CloudFormation,
    Terraform,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    /// A CloudFormation template (JSON or YAML).
    CloudFormation,
    /// A Terraform plan (`terraform show -json`).
    TerraformPlan,
}

/// A CloudFormation parameter.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub pos: Pos,
    pub param_type: Option<String>,
    pub default: Option<Value>,
}

/// One resource: a CloudFormation logical resource or a Terraform resource instance.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Logical id (CFN) or full address (`module.x.aws_ebs_volume.y[0]`, Terraform).
    pub id: String,
    /// `AWS::EC2::Volume` or `aws_ebs_volume`.
    pub rtype: String,
    pub source: Source,
    /// Position of the logical id key (CFN) or of the resource object (Terraform).
    pub pos: Pos,
    /// `Properties` (CFN) or `values` (Terraform), when present.
    pub props: Option<Value>,
    /// Position of the `Properties`/`values` key; `pos` when there is none.
    pub props_pos: Pos,
    /// CFN `Metadata` of the resource.
    pub metadata: Option<Value>,
    /// CFN resource-level `Condition`.
    pub condition: Option<String>,
    /// Terraform module address (`module.a.module.b`), empty for the root module.
    pub module: String,
    /// CFN `DeletionPolicy` and `UpdateReplacePolicy` (strings, or intrinsics
    /// under `AWS::LanguageExtensions`).
    pub deletion_policy: Option<super::Entry>,
    pub update_replace_policy: Option<super::Entry>,
    /// Why nothing about this resource can be known statically (an `Fn::ForEach`
    /// whose collection is an unresolved parameter): every policy that selects
    /// it reports `unknown` with this reason.
    pub unknown: Option<String>,
}

/// One loaded input document: a CFN template (one YAML document of a file) or a plan.
#[derive(Clone, Debug)]
pub struct Template {
    /// The path as given on the command line (or `-` for stdin).
    pub path: Arc<str>,
    /// 0-based index of the YAML document within the file.
    pub doc_index: usize,
    pub kind: TemplateKind,
    pub resources: Vec<Resource>,
    pub parameters: BTreeMap<String, Parameter>,
    /// CFN `Conditions`: name → condition expression.
    pub conditions: BTreeMap<String, Value>,
    /// CFN `Mappings` (a map value), if any.
    pub mappings: Option<Value>,
    /// The whole document.
    pub root: Value,
    /// Mistakes in the document that did not stop the rest of it from being
    /// scanned (a resource without a Type, ...); reported as load errors.
    pub errors: Vec<crate::load::LoadError>,
    /// Whole-template analyses an engine computed on first use (the network
    /// reachability of every instance), so policies ask per resource in O(1).
    pub memo: Memo,
}

/// Results of whole-template analyses, one per (type, key) — the key names the
/// inputs besides the template (the `--param` values). A clone starts empty,
/// since a cloned template may be changed.
#[derive(Default)]
pub struct Memo(Mutex<Vec<MemoSlot>>);

type MemoSlot = (TypeId, u64, Arc<dyn Any + Send + Sync>);

/// Distinct keys kept per template (a harness may evaluate it under several
/// parameter sets); older ones are computed again when asked.
const MEMO_SLOTS: usize = 8;

impl Memo {
    /// The value computed for `key`, computing it now if needed (callers on
    /// other threads wait for it rather than compute it twice).
    pub fn get_or_compute<T: Any + Send + Sync>(
        &self,
        key: u64,
        compute: impl FnOnce() -> T,
    ) -> Arc<T> {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = slots
            .iter()
            .find(|(t, k, _)| *t == TypeId::of::<T>() && *k == key)
            .and_then(|(_, _, v)| v.clone().downcast::<T>().ok());
        if let Some(v) = found {
            return v;
        }
        let v = Arc::new(compute());
        if slots.len() >= MEMO_SLOTS {
            slots.remove(0);
        }
        slots.push((TypeId::of::<T>(), key, v.clone()));
        v
    }
}

impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|s| s.len()).unwrap_or(0);
        write!(f, "Memo({n} analyses)")
    }
}

impl Template {
    /// Index of the resource with this logical id / address.
    pub fn resource_index(&self, id: &str) -> Option<usize> {
        self.resources.iter().position(|r| r.id == id)
    }
}
