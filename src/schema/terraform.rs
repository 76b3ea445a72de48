//! Terraform AWS provider resource schemas (attribute names, blocks, types).
//!
//! The checker rejects a misspelt Terraform resource type or attribute path
//! (`r.server_side_encryption_configuratoin`) at compile time with a "did you
//! mean", as it does for CloudFormation. `tools/gen_tf_schemas.py` distils the
//! provider schemas shipped in the `@cdktf/provider-aws` npm package into
//! `data/terraform/aws.txt` (the union of the provider's last 4.x, 5.x and 6.x
//! releases, so a plan made by an older provider is not rejected). The text
//! (0.53 MB) is what reviewers diff; the binary embeds its gzip (0.11 MB, kept
//! identical by a unit test) and inflates it on first use — with flate2, which
//! the log loaders already use, so no new dependency and no build step — into
//! one flat table of attributes whose names borrow from the inflated text.
//!
//! Paths are resolved the way the evaluator reads a plan's `values`
//! (`src/eval/expr.rs`): a name matches an attribute as written or in
//! snake_case (`KmsKeyId` reads `kms_key_id`), and blocks — JSON lists in a
//! plan, even those limited to one item — are traversed transparently, so
//! `rule.apply_server_side_encryption_by_default` and `rule[0]....` both work.

use std::io::Read;
use std::sync::OnceLock;

use super::{suggest, PathLookup, PropInfo, PropType};
use crate::compile::ir::to_snake_case;

const AWS_TXT_GZ: &[u8] = include_bytes!("../../data/terraform/aws.txt.gz");

/// The embedded data, inflated once.
fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut out = String::with_capacity(AWS_TXT_GZ.len() * 5);
        flate2::read::GzDecoder::new(AWS_TXT_GZ)
            .read_to_string(&mut out)
            .expect("embedded data/terraform/aws.txt.gz is not gzipped UTF-8");
        out
    })
}

/// No nested table (scalars, maps, lists of scalars, free-form values).
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Attr {
    name: &'static str,
    ptype: PropType,
    item: Option<PropType>,
    /// Index into `Db::tables` of the attributes below (of the item, for
    /// lists of blocks), or [`NONE`].
    table: u32,
}

struct Db {
    /// Every table's attributes, each table a sorted run.
    attrs: Vec<Attr>,
    /// (start, len) into `attrs`.
    tables: Vec<(u32, u32)>,
    /// (resource type, root table), sorted by type.
    resources: Vec<(&'static str, u32)>,
    /// Data source types that are not also resource types, sorted.
    data_sources: Vec<&'static str>,
    /// The first header line: where the data came from.
    source: &'static str,
    /// "provider 6.25.0, 5.99.1 and 4.62.0", from the header.
    versions: String,
}

impl Db {
    fn table(&self, id: u32) -> &[Attr] {
        let (start, len) = self.tables[id as usize];
        &self.attrs[start as usize..(start + len) as usize]
    }

    fn find(&self, table: u32, name: &str) -> Option<&Attr> {
        let t = self.table(table);
        t.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &t[i])
    }
}

fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    // The file is generated and embedded at build time: a malformed line is a
    // build defect that the unit tests catch, not a user error.
    DB.get_or_init(|| parse(text()).expect("embedded data/terraform/aws.txt is malformed"))
}

fn code(c: &str) -> Option<(PropType, Option<PropType>)> {
    use PropType::*;
    let scalar = |c: u8| match c {
        b's' => Some(String),
        b'n' => Some(Number),
        b'b' => Some(Boolean),
        b'a' => Some(Any),
        b'm' => Some(Object),
        _ => None,
    };
    Some(match c.as_bytes() {
        [b'L'] => (Array, Some(Object)),
        [b'O'] => (Object, None),
        [c] => (scalar(*c)?, None),
        [b'l', c] => (Array, Some(scalar(*c)?)),
        _ => return None,
    })
}

/// A table being read: the attributes so far and who owns it.
struct Frame {
    depth: usize,
    attrs: Vec<Attr>,
}

enum Owner {
    Resource(&'static str),
    Shared,
}

fn parse(text: &'static str) -> Result<Db, String> {
    let mut db = Db {
        attrs: Vec::with_capacity(40_000),
        tables: Vec::new(),
        resources: Vec::new(),
        data_sources: Vec::new(),
        source: "",
        versions: String::new(),
    };
    let mut shared: Vec<u32> = Vec::new();
    // Open tables, innermost last; the first is the resource's or shared
    // subtree's root (depth 1).
    let mut stack: Vec<Frame> = Vec::new();
    let mut owner = Owner::Shared;

    fn close(db: &mut Db, stack: &mut Vec<Frame>, down_to: usize) -> Option<u32> {
        let mut last = None;
        while stack.last().is_some_and(|f| f.depth > down_to) {
            let mut f = stack.pop().expect("checked");
            f.attrs.sort_unstable_by(|a, b| a.name.cmp(b.name));
            let id = db.tables.len() as u32;
            db.tables
                .push((db.attrs.len() as u32, f.attrs.len() as u32));
            db.attrs.extend(f.attrs);
            if let Some(parent) = stack.last_mut() {
                // The table belongs to the attribute just before its lines.
                if let Some(a) = parent.attrs.last_mut() {
                    a.table = id;
                }
            }
            last = Some(id);
        }
        last
    }
    let finish = |db: &mut Db, stack: &mut Vec<Frame>, owner: &Owner, shared: &mut Vec<u32>| {
        if let Some(root) = close(db, stack, 0) {
            match owner {
                Owner::Resource(name) => db.resources.push((name, root)),
                Owner::Shared => shared.push(root),
            }
        }
    };

    for (n, line) in text.lines().enumerate() {
        let bad = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if let Some(comment) = line.strip_prefix("# ") {
            if db.source.is_empty() {
                db.source = comment;
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('%') {
            db.data_sources.push(name);
            continue;
        }
        if let Some(name) = line.strip_prefix('@') {
            finish(&mut db, &mut stack, &owner, &mut shared);
            owner = Owner::Resource(name);
            stack.push(Frame {
                depth: 1,
                attrs: Vec::new(),
            });
            continue;
        }
        if let Some(id) = line.strip_prefix('=') {
            finish(&mut db, &mut stack, &owner, &mut shared);
            if id.parse::<usize>().ok() != Some(shared.len()) {
                return Err(bad("shared subtrees must be numbered in order"));
            }
            owner = Owner::Shared;
            stack.push(Frame {
                depth: 1,
                attrs: Vec::new(),
            });
            continue;
        }
        let body = line.trim_start_matches(' ');
        let depth = line.len() - body.len();
        let (name, c) = body
            .split_once(' ')
            .ok_or_else(|| bad("expected NAME CODE"))?;
        if stack.is_empty() || depth == 0 || depth > stack.last().map_or(0, |f| f.depth) {
            return Err(bad("attribute outside a resource or block"));
        }
        close(&mut db, &mut stack, depth);
        let (c, reuse) = match c.split_once('=') {
            Some((c, id)) => {
                let id: usize = id.parse().map_err(|_| bad("bad subtree number"))?;
                (
                    c,
                    Some(
                        *shared
                            .get(id)
                            .ok_or_else(|| bad("subtree used before it is defined"))?,
                    ),
                )
            }
            None => (c, None),
        };
        let (ptype, item) = code(c).ok_or_else(|| bad("unknown type code"))?;
        let nested = matches!(c, "L" | "O");
        let frame = stack.last_mut().expect("checked above");
        frame.attrs.push(Attr {
            name,
            ptype,
            item,
            table: reuse.unwrap_or(NONE),
        });
        if nested && reuse.is_none() {
            stack.push(Frame {
                depth: depth + 1,
                attrs: Vec::new(),
            });
        }
    }
    finish(&mut db, &mut stack, &owner, &mut shared);
    db.resources.sort_unstable_by(|a, b| a.0.cmp(b.0));
    db.data_sources.sort_unstable();
    let found: Vec<&str> = db
        .source
        .split("provider ")
        .skip(1)
        .filter_map(|v| v.split_whitespace().next())
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    db.versions = match found.as_slice() {
        [] => return Err("the header names no provider version".into()),
        [one] => format!("provider {one}"),
        [rest @ .., last] => format!("provider {} and {last}", rest.join(", ")),
    };
    if db.resources.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("a resource type is listed twice".into());
    }
    Ok(db)
}

/// Where the embedded data came from (the provider versions it unites).
pub fn data_source() -> &'static str {
    db().source
}

/// The provider versions the data covers: "provider 6.25.0, 5.99.1 and 4.62.0".
pub fn versions() -> &'static str {
    &db().versions
}

/// Whether `name` is a resource type of the AWS provider (any of the
/// versions the data covers).
pub fn is_known_type(name: &str) -> bool {
    db().resources
        .binary_search_by(|(t, _)| (*t).cmp(name))
        .is_ok()
}

/// Whether `name` is only a data source (`aws_iam_policy_document`): plans list
/// data sources under `mode: data`, and policies judge managed resources.
pub fn is_data_source(name: &str) -> bool {
    db().data_sources.binary_search(&name).is_ok()
}

/// All known resource types, sorted.
pub fn known_types() -> impl Iterator<Item = &'static str> + Clone {
    db().resources.iter().map(|(t, _)| *t)
}

/// The known resource type closest to `name`, if reasonably close.
pub fn suggest_type(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    suggest::best_match(known_types(), &lower, suggest::TYPE_THRESHOLD).or_else(|| {
        // `s3_bucket` for `aws_s3_bucket`.
        let full = format!("aws_{lower}");
        suggest::best_match(known_types(), &full, suggest::TYPE_THRESHOLD)
    })
}

#[derive(Clone, Copy)]
struct Cursor {
    ptype: PropType,
    item: Option<PropType>,
    table: u32,
}

impl Cursor {
    fn of(a: &Attr) -> Self {
        Cursor {
            ptype: a.ptype,
            item: a.item,
            table: a.table,
        }
    }

    fn info(self, db: &'static Db) -> PropInfo {
        let children: Vec<&'static str> = if self.table == NONE {
            Vec::new()
        } else {
            db.table(self.table).iter().map(|a| a.name).collect()
        };
        let scalar = |t: PropType| {
            matches!(
                t,
                PropType::String | PropType::Boolean | PropType::Number | PropType::Integer
            )
        };
        PropInfo {
            ptype: self.ptype,
            item: self.item,
            children,
            free_form: self.table == NONE && !scalar(self.ptype) && !self.item.is_some_and(scalar),
        }
    }
}

fn is_item_segment(seg: &str) -> bool {
    seg == "*" || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
}

/// Resolve `path` (attribute names below the resource's planned `values`)
/// on Terraform resource `rtype`, with the same outcomes as
/// [`super::lookup_path`] for CloudFormation. A name matches as written or in
/// snake_case; a suggestion is made for the snake_case form.
pub fn lookup_path(rtype: &str, path: &[&str]) -> PathLookup {
    let db = db();
    let Ok(i) = db.resources.binary_search_by(|(t, _)| (*t).cmp(rtype)) else {
        return PathLookup::NotCovered;
    };
    let mut cur = Cursor {
        ptype: PropType::Object,
        item: None,
        table: db.resources[i].1,
    };
    for (index, seg) in path.iter().copied().enumerate() {
        if is_item_segment(seg) {
            if cur.ptype == PropType::Array {
                cur.ptype = cur.item.unwrap_or(PropType::Any);
                cur.item = None;
                continue;
            }
            // An index into an object or map: nothing to pin down.
            return PathLookup::NotCovered;
        }
        if cur.table == NONE {
            let scalar_below = matches!(
                cur.ptype,
                PropType::String | PropType::Boolean | PropType::Number
            ) || matches!(
                cur.item,
                Some(PropType::String | PropType::Boolean | PropType::Number)
            );
            if scalar_below {
                return unknown(index, seg, &[]);
            }
            // A map (tags), `any`, or a list of those: any key goes.
            return PathLookup::NotCovered;
        }
        let found = db.find(cur.table, seg).or_else(|| {
            let snake = to_snake_case(seg);
            (snake != seg).then(|| db.find(cur.table, &snake)).flatten()
        });
        match found {
            Some(a) => cur = Cursor::of(a),
            None => return unknown(index, seg, db.table(cur.table)),
        }
    }
    PathLookup::Found(cur.info(db))
}

fn unknown(index: usize, seg: &str, known: &'static [Attr]) -> PathLookup {
    let snake = to_snake_case(seg);
    let names = known.iter().map(|a| a.name);
    PathLookup::Unknown {
        index,
        suggestion: suggest::best_match(names.clone(), &snake, suggest::PROPERTY_THRESHOLD)
            .map(str::to_owned),
        known: names.map(str::to_owned).collect(),
    }
}

#[cfg(test)]
#[path = "terraform_tests.rs"]
mod tests;
