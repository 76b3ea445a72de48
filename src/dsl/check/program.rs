//! The files a check reads and how their names connect: each policy file, the
//! shared files it imports (`import "common"`), and the file-level definitions
//! (`let`, `predicate`, `types`) every rule of a file can see.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dsl::ast::{Item, PolicyFile, Span};
use crate::dsl::diag::{did_you_mean, Diag, PolicySource};
use crate::dsl::parser::parse_file;

/// At most this many shared files are read through imports (a guard against a
/// directory of generated files, not a limit anyone should meet).
const MAX_LIBRARIES: usize = 256;

/// A file-level definition: the file (unit) and the item's index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct DefId {
    pub unit: usize,
    pub item: usize,
}

impl DefId {
    /// A number unique among all definitions, for the compiler's memo.
    pub fn key(self) -> usize {
        (self.unit << 24) | self.item
    }
}

pub(super) struct Unit {
    pub src: PolicySource,
    /// `None` when the file did not parse (its syntax error is reported).
    pub file: Option<PolicyFile>,
    /// Given to the check (its rules run), rather than read only for an import.
    pub loaded: bool,
    /// Some file imports it: its definitions are meant for others.
    pub imported: bool,
    /// The units it imports, directly.
    pub imports: Vec<usize>,
    /// Every definition visible in the file, its own and its imports', by name.
    pub env: HashMap<String, DefId>,
}

pub(super) struct Program {
    pub units: Vec<Unit>,
}

impl Program {
    pub fn item(&self, id: DefId) -> &Item {
        &self.units[id.unit]
            .file
            .as_ref()
            .expect("definitions come from parsed files")
            .items[id.item]
    }

    /// Parses the sources, reads what they import, and resolves the names of
    /// every file. Syntax errors and import errors go to `diags`.
    pub fn load(sources: &[PolicySource], diags: &mut Vec<Diag>) -> Program {
        let mut prog = Program {
            units: sources
                .iter()
                .map(|s| parse_unit(s.clone(), true, diags))
                .collect(),
        };
        prog.resolve_imports(diags);
        for u in 0..prog.units.len() {
            prog.build_env(u, diags);
        }
        prog
    }

    fn resolve_imports(&mut self, diags: &mut Vec<Diag>) {
        let mut u = 0;
        while u < self.units.len() {
            let imports: Vec<(String, Span)> = self.units[u]
                .file
                .iter()
                .flat_map(|f| f.items.iter())
                .filter_map(|i| match i {
                    Item::Import(imp) => Some((imp.name.value.clone(), imp.name.span)),
                    _ => None,
                })
                .collect();
            for (name, span) in imports {
                match self.resolve(u, &name, span, diags) {
                    Ok(target) if target == u => diags.push(
                        Diag::error(
                            "bad-import",
                            &self.units[u].src,
                            span,
                            "a file cannot import itself",
                        )
                        .help("its definitions are already visible in it; remove the import"),
                    ),
                    Ok(target) => {
                        self.units[target].imported = true;
                        if !self.units[u].imports.contains(&target) {
                            self.units[u].imports.push(target);
                        }
                    }
                    Err(d) => diags.push(*d),
                }
            }
            u += 1;
        }
    }

    /// Finds the unit `import "name"` in unit `u` means, reading it if needed.
    fn resolve(
        &mut self,
        u: usize,
        name: &str,
        span: Span,
        diags: &mut Vec<Diag>,
    ) -> Result<usize, Box<Diag>> {
        let src = self.units[u].src.clone();
        let name = name.strip_suffix(".policy").unwrap_or(name);
        let valid = !name.is_empty()
            && name.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if !valid {
            return Err(Box::new(Diag::error(
                "bad-import",
                &src,
                span,
                format!("`{name}` is not the name of a policy file"),
            )
            .label("expected a name such as \"common\" or \"shared/iam\"")
            .help("an import names a file by its name without `.policy`, relative to the importing file's directory or a `lib/` directory beside it or above it")));
        }
        let builtin = src.name.starts_with("builtin:");
        let candidates = candidates(&src.name, name);
        // A file's own name is passed over: `lambda/runtimes.policy` may
        // import the shared `lib/runtimes.policy`.
        let mut itself = false;
        for c in &candidates {
            match self.find_loaded(c) {
                Some(found) if found == u => itself = true,
                Some(found) => return Ok(found),
                None => {}
            }
        }
        if !builtin {
            for c in &candidates {
                if !c.is_file() {
                    continue;
                }
                match self.find_loaded_canonical(c) {
                    Some(found) if found == u => {
                        itself = true;
                        continue;
                    }
                    Some(found) => return Ok(found),
                    None => {}
                }
                if self.units.iter().filter(|u| !u.loaded).count() >= MAX_LIBRARIES {
                    return Err(Box::new(Diag::error(
                        "bad-import",
                        &src,
                        span,
                        format!("more than {MAX_LIBRARIES} files are imported"),
                    )));
                }
                let text = std::fs::read(c)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string()));
                return match text {
                    Ok(text) => {
                        let lib = PolicySource {
                            name: c.display().to_string(),
                            text: Arc::from(text),
                        };
                        self.units.push(parse_unit(lib, false, diags));
                        Ok(self.units.len() - 1)
                    }
                    Err(e) => Err(Box::new(Diag::error(
                        "bad-import",
                        &src,
                        span,
                        format!("cannot read {}: {e}", c.display()),
                    ))),
                };
            }
        }
        if itself {
            return Ok(u);
        }
        let tried: Vec<String> = candidates
            .iter()
            .take(4)
            .map(|c| c.display().to_string())
            .collect();
        let more = if candidates.len() > 4 { ", ..." } else { "" };
        let mut d = Diag::error(
            "unknown-import",
            &src,
            span,
            format!("no policy file `{name}` to import"),
        )
        .label("not found");
        let mut stems: Vec<String> = self
            .units
            .iter()
            .filter_map(|u| Path::new(&u.src.name).file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if !builtin {
            stems.extend(policy_files_near(&candidates));
        }
        d = match did_you_mean(name, stems.iter().map(String::as_str)) {
            Some(s) if s != name => d.help(format!(
                "did you mean `{s}`? (looked for {}{more})",
                tried.join(", ")
            )),
            _ => d.help(format!("looked for {}{more}", tried.join(", "))),
        };
        Err(Box::new(d))
    }

    fn find_loaded(&self, path: &Path) -> Option<usize> {
        self.units
            .iter()
            .position(|u| Path::new(&u.src.name) == path)
    }

    fn find_loaded_canonical(&self, path: &Path) -> Option<usize> {
        let want = std::fs::canonicalize(path).ok()?;
        self.units.iter().position(|u| {
            !u.src.name.starts_with("builtin:")
                && std::fs::canonicalize(&u.src.name).is_ok_and(|p| p == want)
        })
    }

    /// The definitions visible in unit `u`: its own and those of every file it
    /// imports, directly or through another import. A name defined twice is an
    /// error, so a name means the same thing in every file that sees it.
    fn build_env(&mut self, u: usize, diags: &mut Vec<Diag>) {
        let mut order = vec![u];
        let mut seen: HashSet<usize> = HashSet::from([u]);
        let mut k = 0;
        while k < order.len() {
            for &next in &self.units[order[k]].imports {
                if seen.insert(next) {
                    order.push(next);
                }
            }
            k += 1;
        }
        let first_import = self.units[u].file.as_ref().and_then(|f| {
            f.items.iter().find_map(|i| match i {
                Item::Import(imp) => Some(imp.span),
                _ => None,
            })
        });
        let mut env: HashMap<String, DefId> = HashMap::new();
        for &unit in &order {
            let Some(file) = &self.units[unit].file else {
                continue;
            };
            for (item, it) in file.items.iter().enumerate() {
                let Some(name) = it.def_name() else { continue };
                let id = DefId { unit, item };
                let Some(prev) = env.get(&name.name).copied() else {
                    env.insert(name.name.clone(), id);
                    continue;
                };
                let here = &self.units[u].src;
                let prev_name = &self.units[prev.unit].src.name;
                if unit == u {
                    let prev_span = self.item(prev).def_name().map(|n| n.span);
                    let mut d = Diag::error(
                        "duplicate-definition",
                        here,
                        name.span,
                        format!("`{}` is defined twice", name.name),
                    )
                    .label("defined again here")
                    .help("a file-level name can be defined once; rename one");
                    if let Some(s) = prev_span {
                        d = d.with(s, "first defined here");
                    }
                    diags.push(d);
                } else if prev.unit == u {
                    let prev_span = self.item(prev).def_name().map(|n| n.span);
                    diags.push(
                        Diag::error(
                            "duplicate-definition",
                            here,
                            prev_span.unwrap_or_default(),
                            format!(
                                "`{}` is also defined in {}, which this file imports",
                                name.name, self.units[unit].src.name
                            ),
                        )
                        .label("defined here")
                        .help("names from imported files share one namespace with the file's own; rename one"),
                    );
                } else if prev.unit != unit {
                    diags.push(
                        Diag::error(
                            "duplicate-definition",
                            here,
                            first_import.unwrap_or_default(),
                            format!(
                                "`{}` is defined both in {prev_name} and in {}",
                                name.name, self.units[unit].src.name
                            ),
                        )
                        .label("imported here")
                        .help("names from imported files share one namespace; rename one"),
                    );
                }
            }
        }
        self.units[u].env = env;
    }
}

fn parse_unit(src: PolicySource, loaded: bool, diags: &mut Vec<Diag>) -> Unit {
    let file = match parse_file(&src.text) {
        Ok(f) => Some(f),
        Err(e) => {
            diags.push(super::syntax_diag(&src, &e));
            None
        }
    };
    Unit {
        src,
        file,
        loaded,
        imported: false,
        imports: Vec::new(),
        env: HashMap::new(),
    }
}

/// The names of the policy files in the first directories an import searches,
/// for "did you mean" (a bounded look: at most 1000 entries).
fn policy_files_near(candidates: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    let mut budget = 1000;
    for dir in candidates.iter().take(4).filter_map(|c| c.parent()) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten().take(budget) {
            budget -= 1;
            let p = e.path();
            if p.extension().is_some_and(|x| x == "policy") {
                if let Some(stem) = p.file_stem() {
                    out.push(stem.to_string_lossy().into_owned());
                }
            }
        }
    }
    out
}

/// Where `import "name"` in the file `importer` looks, in order: `name.policy`
/// in the importer's directory, then in a `lib/` directory there, then the same
/// two in each directory above it.
fn candidates(importer: &str, name: &str) -> Vec<PathBuf> {
    let file = format!("{name}.policy");
    let mut out = Vec::new();
    let mut dir = Path::new(importer).parent();
    while let Some(d) = dir {
        out.push(d.join(&file));
        out.push(d.join("lib").join(&file));
        dir = d.parent();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::candidates;
    use std::path::PathBuf;

    #[test]
    fn imports_look_beside_the_file_then_in_lib_then_upwards() {
        let c = candidates("policies/iam/wildcards.policy", "common");
        let want: Vec<PathBuf> = [
            "policies/iam/common.policy",
            "policies/iam/lib/common.policy",
            "policies/common.policy",
            "policies/lib/common.policy",
            "common.policy",
            "lib/common.policy",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(c, want);
        let b = candidates("builtin:policies/s3/x.policy", "shared/s3");
        assert_eq!(b[0], PathBuf::from("builtin:policies/s3/shared/s3.policy"));
    }
}
