//! Inline skips written by template authors, next to the resource they concern:
//!
//! ```yaml
//! ScratchVolume:
//!   Type: AWS::EC2::Volume
//!   Metadata:
//!     deadbolt:
//!       skip:
//!         - id: ebs-volume-encryption
//!           reason: scratch data, wiped nightly
//! ```
//!
//! or a YAML comment on the lines just above the logical id (or at the end of it):
//! `# deadbolt:skip ebs-volume-encryption -- scratch data, wiped nightly`.
//! A skip without a reason is an error: a suppression must say why.

use std::collections::HashMap;

use crate::doc::{Node, Template, TemplateKind};
use crate::load::LoadError;
use crate::result::Finding;

/// One skip: the policy id (or `*`) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skip {
    pub policy: String,
    pub reason: String,
}

/// Skips per resource id of one template.
pub type Skips = HashMap<String, Vec<Skip>>;

const COMMENT_MARK: &str = "deadbolt:skip";

/// Collects the skips of a template from resource `Metadata` and, when the source
/// text is given (YAML), from comments.
pub fn collect(tpl: &Template, source: Option<&str>) -> (Skips, Vec<LoadError>) {
    let lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    collect_lines(tpl, &lines)
}

/// [`collect`] with the file's lines split once (a file may hold thousands of
/// YAML documents, each a template).
pub fn collect_lines(tpl: &Template, lines: &[&str]) -> (Skips, Vec<LoadError>) {
    let mut skips = Skips::new();
    let mut errors = Vec::new();
    if tpl.kind != TemplateKind::CloudFormation {
        return (skips, errors);
    }
    for r in &tpl.resources {
        let mut list = Vec::new();
        if let Some(meta) = &r.metadata {
            from_metadata(&tpl.path, meta, &mut list, &mut errors);
        }
        if !lines.is_empty() {
            from_comments(
                &tpl.path,
                lines,
                r.pos.line as usize,
                &mut list,
                &mut errors,
            );
        }
        if !list.is_empty() {
            skips.insert(r.id.clone(), list);
        }
    }
    (skips, errors)
}

fn from_metadata(
    path: &str,
    meta: &crate::doc::Value,
    out: &mut Vec<Skip>,
    errors: &mut Vec<LoadError>,
) {
    let Some(entry) = meta.get("deadbolt").and_then(|d| d.entry("skip")) else {
        return;
    };
    let items = match &entry.value.node {
        Node::Seq(items) => items.as_slice(),
        _ => {
            errors.push(LoadError::at(
                path,
                entry.key_pos,
                "deadbolt skip must be a list of {id: POLICY, reason: WHY}",
            ));
            return;
        }
    };
    for item in items {
        let id = item
            .get("id")
            .and_then(|v| v.as_str())
            .or_else(|| item.as_str());
        let reason = item.get("reason").and_then(|v| v.as_str()).map(str::trim);
        match (id, reason) {
            (Some(id), Some(reason)) if !reason.is_empty() => out.push(Skip {
                policy: id.to_string(),
                reason: reason.to_string(),
            }),
            (Some(id), _) => errors.push(LoadError::at(
                path,
                item.pos,
                format!(
                    "skip of `{id}` has no reason; add `reason: ...` saying why it is acceptable"
                ),
            )),
            (None, _) => errors.push(LoadError::at(
                path,
                item.pos,
                "expected a skip as {id: POLICY, reason: WHY}",
            )),
        }
    }
}

/// Comment lines directly above the resource's key line, and a trailing comment on it.
fn from_comments(
    path: &str,
    lines: &[&str],
    key_line: usize,
    out: &mut Vec<Skip>,
    errors: &mut Vec<LoadError>,
) {
    if key_line == 0 || key_line > lines.len() {
        return;
    }
    let mut candidates = Vec::new();
    if let Some((_, comment)) = lines[key_line - 1].split_once('#') {
        candidates.push((key_line, comment));
    }
    let mut n = key_line - 1;
    while n > 0 {
        let l = lines[n - 1].trim_start();
        match l.strip_prefix('#') {
            Some(comment) => candidates.push((n, comment)),
            None => break,
        }
        n -= 1;
    }
    for (line, comment) in candidates {
        let Some(at) = comment.find(COMMENT_MARK) else {
            continue;
        };
        let rest = comment[at + COMMENT_MARK.len()..].trim();
        let (id, reason) = match rest.split_once("--") {
            Some((id, reason)) => (id.trim(), reason.trim()),
            None => (rest, ""),
        };
        let col = lines[line - 1].find(COMMENT_MARK).map_or(1, |c| c + 1) as u32;
        let pos = crate::doc::Pos::new(line as u32, col);
        if id.is_empty() || id.contains(char::is_whitespace) {
            errors.push(LoadError::at(
                path,
                pos,
                "expected `# deadbolt:skip POLICY-ID -- reason`",
            ));
        } else if reason.is_empty() {
            errors.push(LoadError::at(
                path,
                pos,
                format!("skip of `{id}` has no reason; write `# deadbolt:skip {id} -- why it is acceptable`"),
            ));
        } else {
            out.push(Skip {
                policy: id.to_string(),
                reason: reason.to_string(),
            });
        }
    }
}

/// Applies skips to the findings of one template.
pub fn apply(findings: &mut [Finding], tpl: &Template, skips: &Skips) {
    for f in findings.iter_mut().filter(|f| {
        f.file == *tpl.path
            && f.document == tpl.doc_index
            && matches!(
                f.status,
                crate::result::Status::Fail | crate::result::Status::Unknown
            )
    }) {
        if let Some(list) = skips.get(&f.resource) {
            if let Some(s) = list
                .iter()
                .find(|s| s.policy == f.policy || s.policy == "*")
            {
                super::skip(f, format!("inline skip: {}", s.reason));
            }
        }
    }
}
