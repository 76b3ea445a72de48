//! Resource schemas (property names and types) used by the checker: CloudFormation
//! here, the Terraform AWS provider in [`terraform`].
//!
//! The checker rejects misspelt resource types and property paths at policy
//! compile time, with a "did you mean" hint, instead of letting a typo make a
//! rule silently match nothing. The data is generated from the public
//! CloudFormation resource schemas shipped in the `cfn-lint` wheel by
//! `tools/gen_cfn_schemas.py` and embedded here, so the binary needs no
//! network or data files at run time:
//!
//! * `data/cfn/types.txt`: every known resource type (all regions and SAM).
//! * `data/cfn/properties.json`: property trees and `Fn::GetAtt` attributes
//!   for the *covered* types only, to keep the binary small.
//!
//! Both are parsed lazily, once, on first use.

pub mod logs;
mod suggest;
pub mod terraform;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

const TYPES_TXT: &str = include_str!("../../data/cfn/types.txt");
const PROPERTIES_JSON: &str = include_str!("../../data/cfn/properties.json");

/// Value type of a resource property, collapsed from its JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropType {
    String,
    Boolean,
    Integer,
    Number,
    Array,
    Object,
    /// Several types are accepted, or the schema doesn't say.
    Any,
}

impl PropType {
    /// The JSON-schema spelling, for diagnostics.
    pub fn as_str(self) -> &'static str {
        match self {
            PropType::String => "string",
            PropType::Boolean => "boolean",
            PropType::Integer => "integer",
            PropType::Number => "number",
            PropType::Array => "array",
            PropType::Object => "object",
            PropType::Any => "any",
        }
    }

    fn is_scalar(self) -> bool {
        matches!(
            self,
            PropType::String | PropType::Boolean | PropType::Integer | PropType::Number
        )
    }
}

impl fmt::Display for PropType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a resolved property path points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropInfo {
    pub ptype: PropType,
    /// Element type when `ptype` is [`PropType::Array`].
    pub item: Option<PropType>,
    /// Property names one level further down (of the array item for arrays),
    /// sorted; empty for scalars and free-form values.
    pub children: Vec<&'static str>,
    /// Whether keys below this point are unconstrained (policy documents,
    /// tag maps, `any`), so deeper paths can't be checked.
    pub free_form: bool,
}

/// Outcome of [`lookup_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathLookup {
    Found(PropInfo),
    /// Segment `index` names nothing the schema knows at that level.
    /// `known` lists what is allowed there (empty under a scalar), and
    /// `suggestion` is the closest of them, if any is close enough. A name in
    /// [`attributes`] is read-only: it is a `GetAtt` target, not a property.
    Unknown {
        index: usize,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// No schema for the type here, or the path descends into a free-form
    /// value where any key is allowed: nothing to check.
    NotCovered,
}

/// One property in the generated tree (see `tools/gen_cfn_schemas.py`).
#[derive(Debug, Deserialize)]
struct Node {
    t: PropType,
    #[serde(default)]
    i: Option<PropType>,
    /// Nested properties (of the item, for arrays); absent means free-form.
    #[serde(default)]
    p: Option<BTreeMap<String, Node>>,
    /// Set when the object also accepts keys other than `p`.
    #[serde(default)]
    o: u8,
}

#[derive(Debug, Deserialize)]
struct TypeSchema {
    props: BTreeMap<String, Node>,
    attrs: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Source {
    package: String,
    version: String,
    #[serde(default)]
    schema_date: String,
}

#[derive(Debug, Deserialize)]
struct PropertiesFile {
    #[serde(rename = "_source")]
    source: Source,
    #[serde(flatten)]
    types: BTreeMap<String, TypeSchema>,
}

struct Db {
    /// Sorted (byte order, as written by the generator) for binary search.
    types: Vec<&'static str>,
    covered: BTreeMap<String, TypeSchema>,
    source: String,
}

fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| {
        let mut types: Vec<&'static str> = TYPES_TXT
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        // Cheap insurance in case the file is ever edited by hand.
        types.sort_unstable();
        types.dedup();
        // The file is generated and embedded at build time, so a parse failure
        // is a build defect that the unit tests catch, not a user error.
        let file: PropertiesFile = serde_json::from_str(PROPERTIES_JSON)
            .expect("embedded data/cfn/properties.json is malformed");
        let s = &file.source;
        let source = if s.schema_date.is_empty() {
            format!("{} {}", s.package, s.version)
        } else {
            format!("{} {} (schemas {})", s.package, s.version, s.schema_date)
        };
        let mut covered = file.types;
        for (name, props) in PSEUDO_TYPES {
            let props = props
                .iter()
                .map(|(p, t)| {
                    let node = Node {
                        t: *t,
                        i: None,
                        p: None,
                        o: 0,
                    };
                    (p.to_string(), node)
                })
                .collect();
            covered.insert(
                name.to_string(),
                TypeSchema {
                    props,
                    attrs: Vec::new(),
                },
            );
            types.push(name);
        }
        types.sort_unstable();
        Db {
            types,
            covered,
            source,
        }
    })
}

/// Resource types deadbolt makes itself for inputs that are not templates, with
/// their properties: policies select them like CloudFormation types, and the
/// checker knows their property names.
pub const PSEUDO_TYPES: &[(&str, &[(&str, PropType)])] = &[(
    // One entry of a package inventory (`--inventory`): an instance, an image or a host.
    "Deadbolt::Inventory::Entry",
    &[
        ("os", PropType::String),
        ("package_count", PropType::Integer),
        ("inventory", PropType::String),
    ],
)];

/// Where the embedded data came from, e.g. `cfn-lint 1.58.0 (schemas ...)`.
pub fn data_source() -> &'static str {
    &db().source
}

/// Whether `name` is a real CloudFormation resource type (case-sensitive,
/// as CloudFormation itself is).
pub fn is_known_type(name: &str) -> bool {
    db().types.binary_search(&name).is_ok()
}

/// The known type closest to `name` (case-insensitive), if reasonably close.
/// Returns the exact type for a mere case difference (`aws::s3::bucket`),
/// and tries an `AWS::` prefix when it was left off (`EC2::Volume`).
pub fn suggest_type(name: &str) -> Option<&'static str> {
    let types = || db().types.iter().copied();
    suggest::best_match(types(), name, suggest::TYPE_THRESHOLD).or_else(|| {
        (name.matches("::").count() == 1)
            .then(|| format!("AWS::{name}"))
            .and_then(|full| suggest::best_match(types(), &full, suggest::TYPE_THRESHOLD))
    })
}

/// Whether property paths of `rtype` can be checked (its schema is embedded).
pub fn is_covered(rtype: &str) -> bool {
    db().covered.contains_key(rtype)
}

/// All known resource types, sorted.
pub fn known_types() -> &'static [&'static str] {
    &db().types
}

/// Names usable with `Fn::GetAtt` on `rtype` (`Arn`, `Endpoint.Address`),
/// or `None` when the type is not covered.
pub fn attributes(rtype: &str) -> Option<&'static [String]> {
    db().covered.get(rtype).map(|s| s.attrs.as_slice())
}

/// The candidate closest to `name` (case-insensitive), if reasonably close.
pub fn suggest_property<'a, I>(candidates: I, name: &str) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    suggest::best_match(candidates, name, suggest::PROPERTY_THRESHOLD)
}

/// Resolve `path` on `rtype` whatever its shape: a CloudFormation type
/// (`AWS::S3::Bucket`, [`lookup_path`]) or a Terraform one (`aws_s3_bucket`,
/// [`terraform::lookup_path`]).
pub fn lookup_any(rtype: &str, path: &[&str]) -> PathLookup {
    if rtype.contains("::") {
        lookup_path(rtype, path)
    } else {
        terraform::lookup_path(rtype, path)
    }
}

/// Current position while walking a path.
#[derive(Clone, Copy)]
struct Cursor {
    ptype: PropType,
    item: Option<PropType>,
    /// Properties reachable by name from here (array items are transparent).
    props: Option<&'static BTreeMap<String, Node>>,
    open: bool,
}

impl Cursor {
    fn of(node: &'static Node) -> Self {
        Cursor {
            ptype: node.t,
            item: node.i,
            props: node.p.as_ref(),
            open: node.o != 0,
        }
    }

    fn info(self) -> PropInfo {
        let children: Vec<&'static str> = self
            .props
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let free_form = self.open
            || (self.props.is_none()
                && !self.ptype.is_scalar()
                && !self.item.is_some_and(PropType::is_scalar));
        PropInfo {
            ptype: self.ptype,
            item: self.item,
            children,
            free_form,
        }
    }
}

fn is_item_segment(seg: &str) -> bool {
    seg == "*" || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
}

/// Resolve `path` (property names below `Properties`) on resource `rtype`.
///
/// Array items are traversed transparently: after an array-typed property
/// the next name is looked up among the item's properties. `*` or a numeric
/// index steps into the items explicitly (so the result describes the
/// element rather than the array). An empty path describes the resource's
/// top-level properties.
pub fn lookup_path(rtype: &str, path: &[&str]) -> PathLookup {
    let Some(schema) = db().covered.get(rtype) else {
        return PathLookup::NotCovered;
    };
    let mut cur = Cursor {
        ptype: PropType::Object,
        item: None,
        props: Some(&schema.props),
        open: false,
    };
    for (index, seg) in path.iter().copied().enumerate() {
        if is_item_segment(seg) && cur.ptype == PropType::Array {
            cur.ptype = cur.item.unwrap_or(PropType::Any);
            cur.item = None;
            continue;
        }
        match cur.props {
            Some(props) => {
                if let Some(node) = props.get(seg) {
                    cur = Cursor::of(node);
                } else if cur.open || seg == "*" {
                    // Extra keys allowed, or a wildcard over keys: whatever
                    // lies below can't be pinned to one schema node.
                    return PathLookup::NotCovered;
                } else {
                    return unknown(index, seg, props.keys().map(String::as_str));
                }
            }
            None if cur.ptype.is_scalar() || cur.item.is_some_and(PropType::is_scalar) => {
                // Nothing lives below a string/number/boolean (or a list of them).
                return unknown(index, seg, std::iter::empty());
            }
            // Free-form object, `any`, or array of those.
            None => return PathLookup::NotCovered,
        }
    }
    PathLookup::Found(cur.info())
}

fn unknown<'a>(
    index: usize,
    seg: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> PathLookup {
    PathLookup::Unknown {
        index,
        suggestion: suggest_property(known.clone(), seg).map(str::to_owned),
        known: known.map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests;
