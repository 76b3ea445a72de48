//! Finding inputs: walk the paths given on the command line, read and sniff each
//! file, and turn every template or plan found into [`Template`]s.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::cfn::{cfn_template, looks_like_cfn};
use super::error::LoadError;
use super::json::parse_json;
use super::terraform::{looks_like_plan, plan_template};
use super::yaml::{parse_yaml_with, Schema};
use super::LoadOptions;
use crate::doc::{Template, Value};

/// Extensions considered in directory walks: templates and plans, and logs as
/// AWS delivers them to S3 (`.log.gz`, `.json.gz`) or as exported.
const CANDIDATE_EXTENSIONS: &[&str] = &[
    "json", "yaml", "yml", "template", "tpl", "log", "gz", "jsonl", "ndjson",
];

/// A log file found among the inputs: read later, streaming, by the detections.
#[derive(Clone, Debug)]
pub struct LogFile {
    pub path: PathBuf,
    /// The name reports use (as given or as found in a walk).
    pub display: String,
    pub kind: super::logs::LogKind,
    /// The log's bytes when it is not a file (standard input): read from
    /// memory, as often as the detections need.
    pub data: Option<std::sync::Arc<[u8]>>,
}

/// Directories never entered in walks: VCS metadata, tool caches, build output.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// How many leading bytes are checked for NUL to call a file binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// Everything a load produced. Templates are sorted by path then document index,
/// whatever the thread count.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub templates: Vec<Template>,
    pub errors: Vec<LoadError>,
    /// Files read fine but holding no template (or binary files met in a walk).
    pub skipped: Vec<PathBuf>,
    /// Log files found (not read yet).
    pub logs: Vec<LogFile>,
}

/// What [`process_inputs`] found: each template file's result, load errors,
/// skipped files, and log files to stream.
#[derive(Debug)]
pub struct Processed<R> {
    pub results: Vec<R>,
    pub errors: Vec<LoadError>,
    pub skipped: Vec<PathBuf>,
    pub logs: Vec<LogFile>,
}

/// One file to load and how it was found.
struct Candidate {
    path: PathBuf,
    display: String,
    /// Named on the command line (any extension, binary is an error) rather than
    /// found in a directory walk.
    explicit: bool,
    stdin: bool,
}

enum FileResult {
    Templates(Vec<Template>, Vec<LoadError>, String),
    Log(super::logs::LogKind),
    Skipped,
    Error(LoadError),
}

/// Load every template and plan under `paths` (files, directories, or `-` for stdin).
pub fn load_inputs(paths: &[PathBuf]) -> LoadOutcome {
    load_inputs_with(paths, &LoadOptions::default())
}

/// [`load_inputs`] with load options (parameter values for `Fn::ForEach`).
pub fn load_inputs_with(paths: &[PathBuf], opts: &LoadOptions) -> LoadOutcome {
    let p = process_inputs(paths, opts, &|templates, _text| templates);
    LoadOutcome {
        templates: p.results.into_iter().flatten().collect(),
        errors: p.errors,
        skipped: p.skipped,
        logs: p.logs,
    }
}

/// Loads every input and hands each file's templates (with the file's text) to
/// `per_file` inside the parallel pass, so a large corpus never has to be in
/// memory at once. Results come back in path order, with load errors (sorted) and
/// skipped files.
pub fn process_inputs<R: Send>(
    paths: &[PathBuf],
    opts: &LoadOptions,
    per_file: &(dyn Fn(Vec<Template>, &str) -> R + Sync),
) -> Processed<R> {
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            candidates.push(Candidate {
                path: p.clone(),
                display: "-".to_string(),
                explicit: true,
                stdin: true,
            });
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut candidates, &mut errors),
            Ok(_) => candidates.push(Candidate {
                path: p.clone(),
                display: p.to_string_lossy().into_owned(),
                explicit: true,
                stdin: false,
            }),
            Err(e) => errors.push(LoadError::file(
                p.to_string_lossy(),
                format!("cannot read: {}", io_message(&e)),
            )),
        }
    }
    candidates.sort_by(|a, b| a.display.cmp(&b.display).then(b.explicit.cmp(&a.explicit)));
    candidates.dedup_by(|a, b| a.display == b.display);

    let results: Vec<Step<R>> = candidates
        .par_iter()
        .map(|c| match load_candidate(c, opts) {
            FileResult::Templates(t, e, text) => Step::Done(per_file(t, &text), e),
            FileResult::Log(kind) => Step::Log(kind),
            FileResult::Skipped => Step::Skipped,
            FileResult::Error(e) => Step::Error(e),
        })
        .collect();
    let mut out = Vec::new();
    let mut logs = Vec::new();
    for (c, r) in candidates.iter().zip(results) {
        match r {
            Step::Done(r, e) => {
                out.push(r);
                errors.extend(e);
            }
            Step::Log(kind) => logs.push(LogFile {
                path: c.path.clone(),
                display: c.display.clone(),
                kind,
                data: None,
            }),
            Step::Skipped => skipped.push(c.path.clone()),
            Step::Error(e) => errors.push(e),
        }
    }
    errors.sort_by(|a, b| {
        a.path
            .cmp(&b.path)
            .then(a.line().cmp(&b.line()))
            .then(a.col().cmp(&b.col()))
    });
    Processed {
        results: out,
        errors,
        skipped,
        logs,
    }
}

enum Step<R> {
    Done(R, Vec<LoadError>),
    Log(super::logs::LogKind),
    Skipped,
    Error(LoadError),
}

/// Parse in-memory text named `path` and return its templates (none when it is
/// valid JSON/YAML but not a template).
pub fn load_source(path: &str, src: &str) -> Result<Vec<Template>, LoadError> {
    load_source_with(path, src, &LoadOptions::default())
}

/// [`load_source`] with load options.
pub fn load_source_with(
    path: &str,
    src: &str,
    opts: &LoadOptions,
) -> Result<Vec<Template>, LoadError> {
    let docs = parse_any(path, src)?;
    let (templates, mut errors) = classify(path, docs, opts);
    if errors.is_empty() {
        Ok(templates)
    } else {
        Err(errors.remove(0))
    }
}

/// Every template of in-memory text and every error, including mistakes that
/// left the rest of a template scannable.
pub fn load_source_all(
    path: &str,
    src: &str,
    opts: &LoadOptions,
) -> (Vec<Template>, Vec<LoadError>) {
    match parse_any(path, src) {
        Ok(docs) => classify(path, docs, opts),
        Err(e) => (Vec::new(), vec![e]),
    }
}

/// Files of a directory tree in sorted order. Hidden entries and build/vendor
/// directories are skipped; symlinked directories are followed once (by their
/// canonical path), so a link loop ends the walk instead of recursing forever.
fn walk(root: &Path, out: &mut Vec<Candidate>, errors: &mut Vec<LoadError>) {
    let mut seen = HashSet::new();
    if let Ok(c) = std::fs::canonicalize(root) {
        seen.insert(c);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                errors.push(LoadError::file(
                    dir.to_string_lossy(),
                    format!("cannot read directory: {}", io_message(&e)),
                ));
                continue;
            }
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        let mut subdirs = Vec::new();
        for path in names {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            // metadata() follows symlinks; a dangling link is simply skipped.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if SKIPPED_DIRS.contains(&name.as_str()) {
                    continue;
                }
                if std::fs::canonicalize(&path).is_ok_and(|c| seen.insert(c)) {
                    subdirs.push(path);
                }
            } else if meta.is_file() && is_candidate(&path) {
                out.push(Candidate {
                    display: path.to_string_lossy().into_owned(),
                    path,
                    explicit: false,
                    stdin: false,
                });
            }
        }
        // Reverse so the stack pops them in sorted order (the final sort fixes
        // order anyway; this keeps the walk itself predictable).
        stack.extend(subdirs.into_iter().rev());
    }
}

/// Whether the file starts with gzip's magic bytes.
fn is_gzip_file(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
}

fn is_candidate(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        CANDIDATE_EXTENSIONS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(e))
    })
}

fn extension(path: &str) -> String {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Templates and plans are read whole; past this size a file is refused rather
/// than exhaust memory (a CloudFormation template is at most 1 MB; the largest
/// plans seen are tens of MB).
const MAX_TEMPLATE_BYTES: u64 = 512 * 1024 * 1024;

fn too_large(c: &Candidate) -> Option<LoadError> {
    let len = std::fs::metadata(&c.path).ok()?.len();
    (len > MAX_TEMPLATE_BYTES).then(|| {
        LoadError::file(
            &c.display,
            format!(
                "{:.1} MiB: not a log (its first 64 KiB are not a VPC flow log, CloudTrail or Route 53 Resolver query log), and templates and plans over {} MiB are not read",
                len as f64 / (1024.0 * 1024.0),
                MAX_TEMPLATE_BYTES / (1024 * 1024)
            ),
        )
    })
}

fn load_candidate(c: &Candidate, opts: &LoadOptions) -> FileResult {
    // Logs are recognised by their first bytes (after gunzip) and streamed later;
    // only templates and plans are read whole.
    if !c.stdin {
        match super::logs::read_head(&c.path, super::logs::SNIFF_BYTES) {
            Ok(head) => {
                if let Some(kind) = super::logs::sniff(&c.display, &head) {
                    return FileResult::Log(kind);
                }
                // A first line longer than the head that is not JSON: sniff the
                // next line, so a damaged first record does not hide a log.
                let json_like = head
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| matches!(b, b'{' | b'['));
                if head.len() == super::logs::SNIFF_BYTES && !json_like && !head.contains(&b'\n') {
                    if let Some(kind) =
                        super::logs::read_head_after_first_line(&c.path, super::logs::SNIFF_BYTES)
                            .ok()
                            .and_then(|next| super::logs::sniff(&c.display, &next))
                    {
                        return FileResult::Log(kind);
                    }
                }
                if head.starts_with(&[0x1f, 0x8b]) || is_gzip_file(&c.path) {
                    return if c.explicit {
                        FileResult::Error(LoadError::file(
                            &c.display,
                            "gzip-compressed, but not a VPC flow log, CloudTrail log or Route 53 Resolver query log; templates and plans must be uncompressed",
                        ))
                    } else {
                        FileResult::Skipped
                    };
                }
            }
            Err(e) => {
                return FileResult::Error(LoadError::file(
                    &c.display,
                    format!("cannot read: {}", io_message(&e)),
                ))
            }
        }
    }
    let bytes = if c.stdin {
        let mut buf = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut buf) {
            Ok(_) => buf,
            Err(e) => {
                return FileResult::Error(LoadError::file(
                    "-",
                    format!("cannot read standard input: {}", io_message(&e)),
                ))
            }
        }
    } else {
        if let Some(e) = too_large(c) {
            return FileResult::Error(e);
        }
        match std::fs::read(&c.path) {
            Ok(b) => b,
            Err(e) => {
                return FileResult::Error(LoadError::file(
                    &c.display,
                    format!("cannot read: {}", io_message(&e)),
                ))
            }
        }
    };
    let ext = extension(&c.display);
    if c.explicit && matches!(ext.as_str(), "tf" | "hcl" | "tfvars") {
        return FileResult::Error(LoadError::file(&c.display, super::sniff::hcl_message()));
    }
    let text = match decode(&bytes) {
        Ok(t) => t,
        // Named on the command line, or found in a walk with an extension that
        // promises a template: an error, never a quiet skip.
        Err(detail) if c.explicit || ext != "tpl" => {
            return FileResult::Error(LoadError::file(
                &c.display,
                super::sniff::binary_message(&bytes, &detail),
            ))
        }
        Err(_) => return FileResult::Skipped,
    };
    let docs = match parse_any(&c.display, &text) {
        Ok(d) => d,
        // `.tpl` files in a tree are usually text templates for other tools.
        Err(_) if !c.explicit && extension(&c.display) == "tpl" => return FileResult::Skipped,
        Err(e) => return FileResult::Error(e),
    };
    if c.explicit && !docs.iter().any(|d| looks_like_plan(d) || looks_like_cfn(d)) {
        return FileResult::Error(LoadError::file(
            &c.display,
            super::sniff::describe_non_template(&docs, &text),
        ));
    }
    let (templates, errors) = classify(&c.display, docs, opts);
    if templates.is_empty() && errors.is_empty() {
        FileResult::Skipped
    } else {
        FileResult::Templates(templates, errors, text)
    }
}

/// Bytes to text: UTF-8 (BOM stripped later by the parsers) or UTF-16 with a BOM,
/// as written by some Windows tools. Anything else is binary; the error carries a
/// detail for the message.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |le: bool| -> Option<String> {
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        if let Some(s) = utf16(true) {
            return Ok(s);
        }
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        if let Some(s) = utf16(false) {
            return Ok(s);
        }
    }
    if bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0) {
        return Err(" (it contains NUL bytes)".to_string());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(format!(" (not valid UTF-8 at byte {})", e.valid_up_to())),
    }
}

/// Parse as JSON when the text starts like JSON, else as YAML (every document).
/// Text that starts like JSON but is not (YAML flow style, trailing commas) gets a
/// second chance as YAML unless the file is named `.json`. When both fail, the
/// error reported is the one for the language the file name promises (YAML for
/// `.yaml`/`.yml`, JSON otherwise, since it looked like JSON).
fn parse_any(path: &str, src: &str) -> Result<Vec<Value>, LoadError> {
    let body = src.strip_prefix('\u{feff}').unwrap_or(src);
    let looks_json = matches!(body.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if !looks_json {
        return parse_yaml_with(body, path, Schema::Yaml11);
    }
    let ext = extension(path);
    match parse_json(body, path) {
        Ok(v) => Ok(vec![v]),
        Err(e) if ext == "json" => Err(e),
        Err(json_err) => match parse_yaml_with(body, path, Schema::Yaml11) {
            Ok(docs) => Ok(docs),
            Err(yaml_err) if ext == "yaml" || ext == "yml" => Err(yaml_err),
            Err(_) => Err(json_err),
        },
    }
}

/// Turn parsed documents into templates; documents that are neither a CFN
/// template nor a plan are dropped.
fn classify(path: &str, docs: Vec<Value>, opts: &LoadOptions) -> (Vec<Template>, Vec<LoadError>) {
    let shared: Arc<str> = Arc::from(path);
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let result = if looks_like_plan(&doc) {
            plan_template(shared.clone(), doc).map(|mut t| {
                t.doc_index = i;
                t
            })
        } else if looks_like_cfn(&doc) {
            cfn_template(shared.clone(), i, doc, opts)
        } else {
            continue;
        };
        match result {
            Ok(mut t) => {
                errors.append(&mut t.errors);
                templates.push(t);
            }
            Err(e) => errors.push(e),
        }
    }
    (templates, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmpdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    const CFN: &str = "Resources:\n  B:\n    Type: AWS::S3::Bucket\n";

    #[test]
    fn load_source_sniffs_and_classifies() {
        assert_eq!(load_source("a.yaml", CFN).unwrap().len(), 1);
        assert!(load_source("a.yaml", "name: x\n").unwrap().is_empty());
        let json = r#"{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}"#;
        assert_eq!(load_source("a.json", json).unwrap().len(), 1);
        // YAML flow that is not JSON still loads from a .yaml file...
        assert_eq!(
            load_source("a.yaml", "{Resources: {B: {Type: AWS::S3::Bucket}}}")
                .unwrap()
                .len(),
            1
        );
        // ...but a .json file gets the JSON error.
        let e = load_source("a.json", "{Resources: 1}").unwrap_err();
        assert!(e.message.contains("expected '\"'"), "{e}");
        let two = format!("{CFN}---\nfoo: 1\n---\n{CFN}");
        let t = load_source("m.yaml", &two).unwrap();
        assert_eq!(t.iter().map(|t| t.doc_index).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn walks_directories_in_order_and_skips_the_right_things() {
        let d = tmpdir();
        let p = d.path();
        fs::create_dir_all(p.join("sub")).unwrap();
        fs::create_dir_all(p.join(".git")).unwrap();
        fs::create_dir_all(p.join("node_modules")).unwrap();
        fs::create_dir_all(p.join("target")).unwrap();
        fs::write(p.join("b.yaml"), CFN).unwrap();
        fs::write(p.join("sub/a.yml"), CFN).unwrap();
        fs::write(p.join("a.template"), CFN).unwrap();
        fs::write(p.join(".git/x.yaml"), CFN).unwrap();
        fs::write(p.join("node_modules/x.yaml"), CFN).unwrap();
        fs::write(p.join("target/x.yaml"), CFN).unwrap();
        fs::write(p.join("notes.txt"), CFN).unwrap();
        fs::write(p.join("other.yaml"), "a: 1\n").unwrap();
        fs::write(p.join("bin.json"), b"\x00\x01\x02").unwrap();
        fs::write(p.join("broken.yaml"), "a: [\n").unwrap();
        fs::write(p.join("helm.tpl"), "{{ .Values }}: [\n").unwrap();
        let out = load_inputs(&[p.to_path_buf()]);
        let names: Vec<String> = out
            .templates
            .iter()
            .map(|t| t.path.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.template", "b.yaml", "a.yml"]);
        // A binary file whose name promises JSON is an error even in a walk.
        assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
        assert!(out.errors[0].path.ends_with("bin.json"));
        assert!(out.errors[1].path.ends_with("broken.yaml"));
        let skipped: Vec<String> = out
            .skipped
            .iter()
            .map(|s| s.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(skipped, ["helm.tpl", "other.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_terminate() {
        let d = tmpdir();
        let p = d.path();
        fs::create_dir_all(p.join("a")).unwrap();
        fs::write(p.join("a/t.yaml"), CFN).unwrap();
        std::os::unix::fs::symlink(p, p.join("a/loop")).unwrap();
        let out = load_inputs(&[p.to_path_buf()]);
        assert_eq!(out.templates.len(), 1);
    }

    #[test]
    fn explicit_files_any_extension_and_errors() {
        let d = tmpdir();
        let p = d.path();
        fs::write(p.join("t.txt"), CFN).unwrap();
        fs::write(p.join("bin.dat"), b"AB\x00CD").unwrap();
        fs::write(p.join("latin1.yaml"), b"a: caf\xe9\n").unwrap();
        let out = load_inputs(&[
            p.join("t.txt"),
            p.join("bin.dat"),
            p.join("latin1.yaml"),
            p.join("missing.yaml"),
        ]);
        assert_eq!(out.templates.len(), 1);
        assert_eq!(out.errors.len(), 3, "{:?}", out.errors);
        let msgs: Vec<String> = out.errors.iter().map(|e| e.to_string()).collect();
        assert!(msgs[0].contains("bin.dat: binary file, expected a JSON or YAML template"));
        assert!(msgs[1].contains("latin1.yaml: binary file") && msgs[1].contains("UTF-8"));
        assert!(msgs[2].contains("missing.yaml: cannot read: no such file"));
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in CFN.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&bytes).unwrap(), CFN);
    }
}
