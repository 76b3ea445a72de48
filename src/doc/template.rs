use std::collections::BTreeMap;
use std::sync::Arc;

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
}

impl Template {
    /// Index of the resource with this logical id / address.
    pub fn resource_index(&self, id: &str) -> Option<usize> {
        self.resources.iter().position(|r| r.id == id)
    }
}
