//! The policy test file format (YAML). A file holds cases; each case has an input
//! (an inline template or fixture files) and expectations, a snapshot, or both.
//!
//! ```yaml
//! policy: ebs-volume-encryption         # optional: the policy the expectations are about
//! cases:
//!   - name: unencrypted volume fails
//!     template: |
//!       Resources:
//!         Plain:
//!           Type: AWS::EC2::Volume
//!           Properties: {Encrypted: false}
//!     expect:
//!       Plain: {status: fail, line: 5}   # or just `Plain: fail`; `none` = no result
//!   - name: the whole fixture
//!     files: [../../../fixtures/catalog/ebs-volume-encryption/cfn.yaml]
//!     snapshot: snapshots/ebs-volume-encryption.snap
//! ```
//!
//! Without a file-level `policy`, `expect` maps policy ids to such resource maps.
//! Every problem in a test file is reported with its file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::doc::{Node, Pos, Value};
use crate::dsl::diag::did_you_mean;
use crate::load::{parse_yaml, LoadError};
use crate::result::Status;

/// One expectation about a resource's result under a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// `None` means "no result" (`none`).
    pub status: Option<Status>,
    pub line: Option<u32>,
    /// A substring the message must contain.
    pub message: Option<String>,
    /// For detections: the alert's key (its group and first time), the end of
    /// its file's path, and GuardDuty's `service.count`.
    pub key: Option<String>,
    pub file: Option<String>,
    pub count: Option<u64>,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub enum Input {
    /// An inline document; positions in findings are lines of this text.
    Template(String),
    /// Fixture files, resolved against the test file's directory.
    Files(Vec<PathBuf>),
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub pos: Pos,
    pub input: Input,
    pub params: Vec<(String, String)>,
    /// policy id → resource id → expectations (several for a resource with
    /// several results: a detection's alerts, `each` items).
    pub expect: BTreeMap<String, BTreeMap<String, Vec<Expect>>>,
    /// Every result of the tested policies must be expected (default true).
    pub strict: bool,
    pub snapshot: Option<PathBuf>,
    /// Policies the case runs: the expectations' policies, the file's `policy`,
    /// or `policies: [...]`; empty = all.
    pub policies: Vec<String>,
    /// A KMS keystore for `kms.*` (relative to the test file), its root key in hex
    /// (for test keystores only: real ones take it from the environment), and a
    /// samples manifest.
    pub keystore: Option<PathBuf>,
    pub root_key: Option<String>,
    pub samples: Option<PathBuf>,
    /// For detections: `lists: {NAME: PATH}`, `trusted_list`, `aws_ip_ranges`,
    /// `flowlog_format` (paths relative to the test file).
    pub lists: Vec<(String, PathBuf)>,
    pub trusted_list: Option<PathBuf>,
    pub aws_ip_ranges: Option<PathBuf>,
    pub flowlog_format: Option<String>,
    /// Package inventories (`FILE`, `RESOURCE=FILE`, `RESOURCE@OS=FILE`, paths
    /// relative to the test file) and OSV advisory directories, as `--inventory`
    /// and `--advisories` give them to a scan.
    pub inventory: Vec<crate::inspector::packages::InventoryArg>,
    pub advisories: Vec<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct TestFile {
    pub path: PathBuf,
    pub cases: Vec<Case>,
}

const FILE_KEYS: &[&str] = &["policy", "cases"];
const CASE_KEYS: &[&str] = &[
    "name",
    "template",
    "files",
    "params",
    "expect",
    "strict",
    "snapshot",
    "policies",
    "keystore",
    "root_key",
    "samples",
    "lists",
    "trusted_list",
    "aws_ip_ranges",
    "flowlog_format",
    "inventory",
    "advisories",
];
const EXPECT_KEYS: &[&str] = &["status", "line", "message", "key", "file", "count"];

/// Parses a test file; `known_policies` are the ids a test may name.
pub fn parse(path: &Path, text: &str, known_policies: &[&str]) -> Result<TestFile, LoadError> {
    let name = path.display().to_string();
    let p = Parser {
        file: &name,
        known: known_policies,
    };
    let docs = parse_yaml(text, &name)?;
    let root = docs.first().ok_or_else(|| {
        LoadError::file(
            &name,
            "empty test file; expected `cases:` with a list of cases",
        )
    })?;
    p.keys(root, FILE_KEYS, "test file")?;
    let default_policy = match root.entry("policy") {
        Some(e) => Some(p.policy_id(&e.value)?),
        None => None,
    };
    let cases_v = root
        .get("cases")
        .ok_or_else(|| LoadError::at(&name, root.pos, "expected `cases:` with a list of cases"))?;
    let items = cases_v
        .as_seq()
        .ok_or_else(|| LoadError::at(&name, cases_v.pos, "`cases` must be a list"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut cases = Vec::new();
    for item in items {
        cases.push(p.case(item, default_policy.as_deref(), dir)?);
    }
    let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
    for c in &cases {
        if let Some(prev) = seen.insert(&c.name, c.pos) {
            return Err(LoadError::at(
                &name,
                c.pos,
                format!(
                    "a second case is named `{}` (the first is at line {})",
                    c.name, prev.line
                ),
            ));
        }
    }
    Ok(TestFile {
        path: path.to_path_buf(),
        cases,
    })
}

struct Parser<'a> {
    file: &'a str,
    known: &'a [&'a str],
}

impl Parser<'_> {
    fn err(&self, pos: Pos, msg: impl Into<String>) -> LoadError {
        LoadError::at(self.file, pos, msg)
    }

    fn keys(&self, v: &Value, allowed: &[&str], what: &str) -> Result<(), LoadError> {
        let entries = v
            .as_map()
            .ok_or_else(|| self.err(v.pos, format!("expected a map for the {what}")))?;
        crate::load::fields::check_keys(self.file, entries, allowed, what)
    }

    fn string(&self, v: &Value, what: &str) -> Result<String, LoadError> {
        match &v.node {
            Node::Str(s) => Ok(s.clone()),
            Node::Int(i) => Ok(i.to_string()),
            Node::Bool(b) => Ok(b.to_string()),
            _ => Err(self.err(v.pos, format!("expected {what} as a string"))),
        }
    }

    fn policy_id(&self, v: &Value) -> Result<String, LoadError> {
        let id = self.string(v, "a policy id")?;
        self.known_policy(&id, v.pos)?;
        Ok(id)
    }

    fn known_policy(&self, id: &str, pos: Pos) -> Result<(), LoadError> {
        if self.known.contains(&id) {
            return Ok(());
        }
        let hint = did_you_mean(id, self.known.iter().copied()).map_or_else(
            || {
                "; the policies beside the test file (its directory, or the one above a `tests/` directory) are loaded, else the built-in catalogue: pass `--policies DIR` if they are elsewhere".to_string()
            },
            |s| format!("; did you mean `{s}`?"),
        );
        Err(self.err(pos, format!("no policy `{id}` is loaded{hint}")))
    }

    fn case(&self, v: &Value, default_policy: Option<&str>, dir: &Path) -> Result<Case, LoadError> {
        self.keys(v, CASE_KEYS, "case")?;
        let name = match v.get("name") {
            Some(n) => self.string(n, "the case name")?,
            None => return Err(self.err(v.pos, "a case needs a `name`")),
        };
        let input = match (v.get("template"), v.get("files")) {
            (Some(t), None) => Input::Template(self.string(t, "the template text")?),
            (None, Some(f)) => {
                let list: Vec<&Value> = match &f.node {
                    Node::Seq(items) => items.iter().collect(),
                    _ => vec![f],
                };
                let mut files = Vec::new();
                for item in list {
                    let rel = self.string(item, "a file path")?;
                    let full = dir.join(&rel);
                    if !full.exists() {
                        return Err(self.err(
                            item.pos,
                            format!(
                                "fixture `{rel}` does not exist (resolved to {})",
                                full.display()
                            ),
                        ));
                    }
                    files.push(full);
                }
                Input::Files(files)
            }
            (Some(_), Some(f)) => {
                return Err(self.err(f.pos, "give either `template` or `files`, not both"))
            }
            // An inventory alone is an input, as for `deadbolt scan --inventory`.
            (None, None) if v.get("inventory").is_some() => Input::Files(Vec::new()),
            (None, None) => {
                return Err(self.err(
                    v.pos,
                    format!("case `{name}` needs `template:` (inline), `files:` or `inventory:`"),
                ))
            }
        };
        let mut params = Vec::new();
        if let Some(pv) = v.get("params") {
            for e in pv
                .as_map()
                .ok_or_else(|| self.err(pv.pos, "`params` must be a map NAME: VALUE"))?
            {
                params.push((e.key.clone(), self.string(&e.value, "a parameter value")?));
            }
        }
        let strict = match v.get("strict") {
            Some(Value {
                node: Node::Bool(b),
                ..
            }) => *b,
            Some(other) => return Err(self.err(other.pos, "`strict` must be true or false")),
            None => true,
        };
        let mut expect = BTreeMap::new();
        if let Some(ev) = v.get("expect") {
            let entries = ev
                .as_map()
                .ok_or_else(|| self.err(ev.pos, "`expect` must be a map"))?;
            match default_policy {
                Some(p) => {
                    expect.insert(p.to_string(), self.resources(ev)?);
                }
                None => {
                    for e in entries {
                        self.known_policy(&e.key, e.key_pos)?;
                        expect.insert(e.key.clone(), self.resources(&e.value)?);
                    }
                }
            }
        }
        let snapshot = match v.get("snapshot") {
            Some(s) => Some(dir.join(self.string(s, "a snapshot path")?)),
            None => None,
        };
        if expect.is_empty() && snapshot.is_none() {
            return Err(self.err(
                v.pos,
                format!("case `{name}` needs `expect:` or `snapshot:`"),
            ));
        }
        let mut policies: Vec<String> = expect.keys().cloned().collect();
        if let Some(pv) = v.get("policies") {
            let items = pv
                .as_seq()
                .ok_or_else(|| self.err(pv.pos, "`policies` must be a list of policy ids"))?;
            for item in items {
                policies.push(self.policy_id(item)?);
            }
        }
        if policies.is_empty() {
            if let Some(p) = default_policy {
                policies.push(p.to_string());
            }
        }
        policies.sort();
        policies.dedup();
        let path_field = |key: &str| -> Result<Option<PathBuf>, LoadError> {
            match v.get(key) {
                Some(x) => {
                    let rel = self.string(x, "a path")?;
                    let full = dir.join(&rel);
                    if !full.exists() {
                        return Err(self.err(
                            x.pos,
                            format!("`{rel}` does not exist (resolved to {})", full.display()),
                        ));
                    }
                    Ok(Some(full))
                }
                None => Ok(None),
            }
        };
        let path_list = |key: &str| -> Result<Vec<(String, Pos)>, LoadError> {
            let Some(x) = v.get(key) else {
                return Ok(Vec::new());
            };
            let items: Vec<&Value> = match &x.node {
                Node::Seq(items) => items.iter().collect(),
                _ => vec![x],
            };
            let mut out = Vec::new();
            for item in items {
                let s = self.string(item, "a path")?;
                out.push((s, item.pos));
            }
            Ok(out)
        };
        let exists = |rel: &str, full: &Path, pos: Pos| -> Result<(), LoadError> {
            if full.exists() {
                Ok(())
            } else {
                Err(self.err(
                    pos,
                    format!("`{rel}` does not exist (resolved to {})", full.display()),
                ))
            }
        };
        let mut inventory = Vec::new();
        for (spec, pos) in path_list("inventory")? {
            let mut arg = crate::inspector::packages::InventoryArg::parse(&spec)
                .map_err(|e| self.err(pos, e))?;
            let rel = arg.path.to_string_lossy().into_owned();
            arg.path = dir.join(&arg.path);
            exists(&rel, &arg.path, pos)?;
            inventory.push(arg);
        }
        let mut advisories = Vec::new();
        for (rel, pos) in path_list("advisories")? {
            let full = dir.join(&rel);
            exists(&rel, &full, pos)?;
            advisories.push(full);
        }
        let keystore = path_field("keystore")?;
        let samples = path_field("samples")?;
        let root_key = match v.get("root_key") {
            Some(x) => Some(self.string(x, "the root key in hex")?),
            None => None,
        };
        let mut lists = Vec::new();
        if let Some(lv) = v.get("lists") {
            for e in lv.as_map().ok_or_else(|| {
                self.err(lv.pos, "`lists` must be a map NAME: PATH of threat lists")
            })? {
                let rel = self.string(&e.value, "a threat list path")?;
                let full = dir.join(&rel);
                if !full.exists() {
                    return Err(self.err(
                        e.value.pos,
                        format!("`{rel}` does not exist (resolved to {})", full.display()),
                    ));
                }
                lists.push((e.key.clone(), full));
            }
        }
        let trusted_list = path_field("trusted_list")?;
        let aws_ip_ranges = path_field("aws_ip_ranges")?;
        let flowlog_format = match v.get("flowlog_format") {
            Some(x) => Some(self.string(x, "a flow log format")?),
            None => None,
        };
        Ok(Case {
            name,
            pos: v.pos,
            input,
            params,
            expect,
            strict,
            snapshot,
            policies,
            keystore,
            root_key,
            samples,
            lists,
            trusted_list,
            aws_ip_ranges,
            flowlog_format,
            inventory,
            advisories,
        })
    }

    fn resources(&self, v: &Value) -> Result<BTreeMap<String, Vec<Expect>>, LoadError> {
        let entries = v
            .as_map()
            .ok_or_else(|| self.err(v.pos, "expected a map of resource ids to statuses"))?;
        let mut out = BTreeMap::new();
        for e in entries {
            let list = match &e.value.node {
                Node::Seq(items) => items
                    .iter()
                    .map(|i| self.expectation(i, e.key_pos))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => vec![self.expectation(&e.value, e.key_pos)?],
            };
            out.insert(e.key.clone(), list);
        }
        Ok(out)
    }

    /// `fail`, or `{status, line, message, key, file, count}`.
    fn expectation(&self, v: &Value, pos: Pos) -> Result<Expect, LoadError> {
        let none = Expect {
            status: None,
            line: None,
            message: None,
            key: None,
            file: None,
            count: None,
            pos,
        };
        match &v.node {
            Node::Str(_) => Ok(Expect {
                status: self.status(v)?,
                ..none
            }),
            Node::Map(_) => {
                self.keys(v, EXPECT_KEYS, "expectation")?;
                let status = match v.get("status") {
                    Some(s) => self.status(s)?,
                    None => return Err(self.err(v.pos, "an expectation needs a `status`")),
                };
                let line = match v.get("line") {
                    Some(Value { node: Node::Int(n), .. }) if *n > 0 => Some(*n as u32),
                    Some(other) => return Err(self.err(other.pos, "`line` must be a positive line number")),
                    None => None,
                };
                let count = match v.get("count") {
                    Some(Value { node: Node::Int(n), .. }) if *n > 0 => Some(*n as u64),
                    Some(other) => return Err(self.err(other.pos, "`count` must be a positive number of records")),
                    None => None,
                };
                let text = |k: &str, what: &str| -> Result<Option<String>, LoadError> {
                    v.get(k).map(|m| self.string(m, what)).transpose()
                };
                Ok(Expect {
                    status,
                    line,
                    message: text("message", "a message substring")?,
                    key: text("key", "an alert key")?,
                    file: text("file", "the end of a file path")?,
                    count,
                    pos,
                })
            }
            _ => Err(self.err(v.pos, "expected a status (pass, fail, unknown, skipped, none), {status, line, message, key, file, count}, or a list of them")),
        }
    }

    fn status(&self, v: &Value) -> Result<Option<Status>, LoadError> {
        let s = self.string(v, "a status")?;
        if s == "none" {
            return Ok(None);
        }
        match Status::parse(&s) {
            Some(st) => Ok(Some(st)),
            None => {
                let all = ["pass", "fail", "unknown", "skipped", "none"];
                let hint = did_you_mean(&s, all.iter().copied())
                    .map_or(String::new(), |x| format!("; did you mean `{x}`?"));
                Err(self.err(
                    v.pos,
                    format!("`{s}` is not a status{hint} (pass, fail, unknown, skipped, none)"),
                ))
            }
        }
    }
}
