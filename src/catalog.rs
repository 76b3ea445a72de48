//! The built-in policy catalogue, embedded at build time from `policies/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dsl::PolicySource;

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// The built-in policies as sources named `builtin:policies/...`.
pub fn builtin_sources() -> Vec<PolicySource> {
    CATALOG
        .iter()
        .map(|(name, text)| PolicySource {
            name: format!("builtin:{name}"),
            text: Arc::from(*text),
        })
        .collect()
}

/// Policy files under a path: the file itself, or every `*.policy` below a directory
/// (sorted, so ids are reported in a stable order).
pub fn policy_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        std::fs::metadata(path)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let p = e?.path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "policy") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads policy sources from files and directories.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<PolicySource>, String> {
    let mut out = Vec::new();
    for p in paths {
        let files =
            policy_files(p).map_err(|e| format!("{}: cannot read policies: {e}", p.display()))?;
        if files.is_empty() {
            return Err(format!("{}: no *.policy files found", p.display()));
        }
        for f in files {
            let bytes =
                std::fs::read(&f).map_err(|e| format!("{}: cannot read: {e}", f.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                format!(
                    "{}: not UTF-8 text; a policy file must be UTF-8",
                    f.display()
                )
            })?;
            out.push(PolicySource {
                name: f.display().to_string(),
                text: Arc::from(text),
            });
        }
    }
    Ok(out)
}
