//! The samples manifest (`--samples FILE`): which data sample belongs to which
//! resource, the key it claims to be encrypted under and its encryption context.
//!
//! ```yaml
//! samples:
//!   - resource: DataBucket          # resource id or Terraform address; * and ? globs
//!     file: data-bucket.sample      # relative to this manifest
//!     key: alias/app-data           # the claimed key: id, ARN or alias in the keystore
//!     context: {bucket: app-data}   # the claimed encryption context (optional)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::{parse_yaml, LoadError};
use crate::doc::{Node, Value};
use crate::eval::engines::Sample;

const FIELDS: &[&str] = &["resource", "file", "key", "context"];

pub fn read(path: &str) -> Result<Vec<Sample>, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::file(path, format!("cannot read the samples manifest: {e}")))?;
    parse(path, &text)
}

pub fn parse(path: &str, text: &str) -> Result<Vec<Sample>, LoadError> {
    let docs = parse_yaml(text, path)?;
    let root = docs.first().ok_or_else(|| {
        LoadError::file(
            path,
            "empty samples manifest; expected `samples:` with a list",
        )
    })?;
    let list = root.get("samples").and_then(Value::as_seq).ok_or_else(|| {
        LoadError::at(
            path,
            root.pos,
            "expected `samples:` holding a list of samples",
        )
    })?;
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for item in list {
        let Some(entries) = item.as_map() else {
            return Err(LoadError::at(
                path,
                item.pos,
                "expected a sample: {resource, file, key, context}",
            ));
        };
        crate::load::fields::check_keys(path, entries, FIELDS, "sample")?;
        let field = |name: &str| -> Result<String, LoadError> {
            match item.get(name).map(|v| &v.node) {
                Some(Node::Str(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(LoadError::at(
                    path,
                    item.pos,
                    format!("a sample needs `{name}` (a string)"),
                )),
            }
        };
        let mut context = BTreeMap::new();
        if let Some(c) = item.entry("context") {
            let m = c.value.as_map().ok_or_else(|| {
                LoadError::at(path, c.key_pos, "`context` must be a map of strings")
            })?;
            for e in m {
                let v = match &e.value.node {
                    Node::Str(s) => s.clone(),
                    Node::Int(i) => i.to_string(),
                    Node::Bool(b) => b.to_string(),
                    _ => {
                        return Err(LoadError::at(
                            path,
                            e.key_pos,
                            "encryption context values must be strings",
                        ))
                    }
                };
                context.insert(e.key.clone(), v);
            }
        }
        let file = normalize(&dir.join(field("file")?));
        if !file.exists() {
            return Err(LoadError::at(
                path,
                item.pos,
                format!("sample file {} does not exist", file.display()),
            ));
        }
        out.push(Sample {
            resource: field("resource")?,
            file,
            key: field("key")?,
            context,
        });
    }
    Ok(out)
}

/// `a/b/../c` → `a/c`, without touching the file system, so messages show a
/// plain path.
fn normalize(p: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir if out.file_name().is_some() && !out.ends_with("..") => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
