//! Policy files at another git revision, read with the `git` command line.
//!
//! `git` runs as a subprocess from the repository that contains each path, so a
//! path may be given relative to the current directory and may even be gone from
//! the working tree (it only has to exist at the revision).

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::dsl::PolicySource;

/// Runs `git -C dir ARGS` and returns its standard output, or a message built from
/// its standard error.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // The repository is the one that contains `dir`, even when deadbolt runs
        // from a git hook (which sets these for the hook's own repository).
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        // Plumbing output only; never ask for credentials or open a pager.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .output()
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                GitError::Missing
            } else {
                GitError::Failed(format!("cannot run git: {e}"))
            }
        })?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(GitError::Failed(if err.is_empty() {
            format!("git {} failed ({})", args.join(" "), out.status)
        } else {
            err
        }))
    }
}

enum GitError {
    Missing,
    Failed(String),
}

impl GitError {
    fn message(self) -> String {
        match self {
            GitError::Missing => {
                "git is not installed or not on PATH (reading policies at a revision needs git)"
                    .to_string()
            }
            GitError::Failed(m) => m,
        }
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim_end().to_string()
}

/// Where `path` lives in its repository: (directory to run git from, path of
/// `path` relative to the repository root with `/` separators).
fn locate(path: &Path) -> Result<(PathBuf, String), String> {
    // The nearest existing ancestor: the path may only exist at the revision.
    let mut anchor = path.to_path_buf();
    let mut rest: Vec<String> = Vec::new();
    loop {
        if anchor.as_os_str().is_empty() {
            anchor = PathBuf::from(".");
        }
        if anchor.exists() {
            break;
        }
        match (anchor.file_name(), anchor.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_string_lossy().into_owned());
                anchor = parent.to_path_buf();
            }
            _ => {
                return Err(format!(
                    "{}: no such file or directory, and no parent directory to find its git repository from",
                    path.display()
                ))
            }
        }
    }
    let dir = if anchor.is_dir() {
        anchor
    } else {
        let name = anchor
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        rest.push(name);
        match anchor.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let prefix = git(&dir, &["rev-parse", "--show-prefix"]).map_err(|e| match e {
        GitError::Missing => GitError::Missing.message(),
        GitError::Failed(m) => format!("{}: not inside a git repository ({m})", path.display()),
    })?;
    let mut parts: Vec<String> = text(prefix)
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for name in rest.into_iter().rev() {
        match Path::new(&name).components().next() {
            Some(Component::ParentDir) => {
                parts.pop();
            }
            Some(Component::CurDir) | None => {}
            _ => parts.push(name),
        }
    }
    Ok((dir, parts.join("/")))
}

/// The policy sources under `paths` (files or directories) at git revision `rev`,
/// named `REV:path/in/repo.policy`. Directories give every `*.policy` file below
/// them (hidden entries skipped, sorted), as on disk.
pub fn sources_at_rev(rev: &str, paths: &[PathBuf]) -> Result<Vec<PolicySource>, String> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(format!("`{rev}` is not a git revision"));
    }
    let mut out = Vec::new();
    for path in paths {
        let (dir, rel) = locate(path)?;
        let commit = git(
            &dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|e| match e {
            GitError::Missing => GitError::Missing.message(),
            GitError::Failed(_) => format!(
                "unknown git revision `{rev}` in the repository of {}",
                path.display()
            ),
        })?;
        let commit = text(commit);
        // Paths from here on are relative to the repository root.
        let top = text(git(&dir, &["rev-parse", "--show-toplevel"]).map_err(GitError::message)?);
        let top = PathBuf::from(top);
        let object = format!("{commit}:{rel}");
        let kind = git(&top, &["cat-file", "-t", &object]).map_err(|e| match e {
            GitError::Missing => GitError::Missing.message(),
            GitError::Failed(_) => format!(
                "{}: `{}` does not exist at revision {rev}",
                path.display(),
                if rel.is_empty() { "." } else { &rel }
            ),
        })?;
        let files: Vec<String> = match text(kind).as_str() {
            "blob" => vec![rel.clone()],
            "tree" => {
                let mut args = vec!["ls-tree", "-r", "-z", "--name-only", &commit];
                if !rel.is_empty() {
                    args.push("--");
                    args.push(&rel);
                }
                let listing = git(&top, &args).map_err(GitError::message)?;
                let mut files: Vec<String> = String::from_utf8_lossy(&listing)
                    .split('\0')
                    .filter(|f| f.ends_with(".policy"))
                    .filter(|f| {
                        // Hidden entries below the directory are skipped, as on disk.
                        let below = f
                            .strip_prefix(rel.as_str())
                            .unwrap_or(f)
                            .trim_start_matches('/');
                        !below.split('/').any(|c| c.starts_with('.'))
                    })
                    .map(str::to_string)
                    .collect();
                files.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
                if files.is_empty() {
                    return Err(format!(
                        "{}: no *.policy files at revision {rev}",
                        path.display()
                    ));
                }
                files
            }
            other => {
                return Err(format!(
                    "{}: is a {other} at revision {rev}, not a file or directory",
                    path.display()
                ))
            }
        };
        for f in files {
            let bytes = git(&top, &["cat-file", "blob", &format!("{commit}:{f}")])
                .map_err(GitError::message)?;
            let name = format!("{rev}:{f}");
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{name}: not UTF-8 text; a policy file must be UTF-8"))?;
            out.push(PolicySource {
                name,
                text: Arc::from(text),
            });
        }
    }
    Ok(out)
}
