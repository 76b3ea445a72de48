//! `deadbolt scan`: the CI gate.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};

use deadbolt::compile::Severity;
use deadbolt::dsl::Checked;
use deadbolt::eval::Params;
use deadbolt::load::LoadError;
use deadbolt::report::{self, human::HumanOptions};
use deadbolt::result::Status;
use deadbolt::scan::{self, ScanOptions, ScanOutcome};
use deadbolt::suppress::{baseline, waivers};

use super::{compile_policies, parse_severity, ColorChoice, PolicyArgs, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
    /// The detections' GuardDuty findings, as GuardDuty's GetFindings returns them.
    Guardduty,
    /// The results' Inspector findings, as `aws inspector2 list-findings` prints them.
    Inspector,
}

#[derive(Args)]
#[command(after_help = "Examples:
  deadbolt scan fixtures/examples                    # the built-in catalogue, human output
  deadbolt scan infra/ plan.json --fail-on high      # CI gate: exit 1 only for high/critical
  deadbolt scan infra/ --format json -o results.json
  deadbolt scan infra/ --sarif deadbolt.sarif --junit deadbolt.xml --format github
  terraform show -json plan.out | deadbolt scan -    # a plan on standard input
  deadbolt scan infra/ --param Environment=prod --policies my-policies/
  deadbolt scan infra/ --waivers waivers.yaml --baseline baseline.json
  deadbolt scan logs/ --threat-list ips=ips.txt --trusted-list trusted.txt --format guardduty
  zcat flows.log.gz | deadbolt scan -                # a log on standard input (plain or gzip)
  deadbolt scan infra/ --inventory inventory.json --advisories osv/ --format inspector
  deadbolt scan --inventory web=dpkg.txt --inventory db@almalinux:9=rpm.txt --advisories osv/

Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error, unreadable input, nothing to scan, or an invalid policy.")]
pub struct ScanArgs {
    /// Files or directories to scan (recursively); `-` reads standard input.
    /// Default: `.`, unless --inventory is given (then only the inventories).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Output format of the main report (standard output, or --output).
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: Format,
    /// Write the main report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a SARIF 2.1.0 report to FILE (same run).
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub sarif: Option<PathBuf>,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub junit: Option<PathBuf>,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub json: Option<PathBuf>,
    /// Also write GitHub Actions annotations to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub github: Option<PathBuf>,
    /// Also write the detections' GuardDuty findings to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub guardduty: Option<PathBuf>,
    /// Also write the Inspector findings (reachability, package vulnerabilities) to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Extra reports")]
    pub inspector: Option<PathBuf>,
    /// Exit 1 when a failure has at least this severity. The default, low, leaves
    /// informational findings (such as a missing paid Shield Advanced protection)
    /// in the reports without failing the gate; `--fail-on info` fails on them too.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Also exit 1 when a result is unknown (a value that cannot be known statically).
    #[arg(long)]
    pub fail_on_unknown: bool,
    /// Set a CloudFormation parameter or pseudo parameter (NAME=VALUE; repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = scan::parse_param)]
    pub params: Vec<(String, String)>,
    /// Parameters file: {"Name": "Value"} or [{"ParameterKey": ..., "ParameterValue": ...}].
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<String>,
    /// Waivers file: accepted risks with owner and expiry (see README).
    #[arg(long, value_name = "FILE", help_heading = "Suppressions")]
    pub waivers: Option<String>,
    /// Report only failures that are not in this baseline.
    #[arg(long, value_name = "FILE", help_heading = "Suppressions")]
    pub baseline: Option<String>,
    /// Record the current failures as a baseline in FILE.
    #[arg(long, value_name = "FILE", help_heading = "Suppressions")]
    pub write_baseline: Option<PathBuf>,
    /// A KMS keystore for the kms.* checks (keys outside the template, samples).
    #[arg(long, value_name = "PATH", help_heading = "KMS")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore's root key (default: $DEADBOLT_KMS_ROOT_KEY).
    #[arg(long, value_name = "FILE", help_heading = "KMS")]
    pub root_key_file: Option<PathBuf>,
    /// Samples manifest: each resource's encrypted data sample, claimed key and context.
    #[arg(long, value_name = "FILE", help_heading = "KMS")]
    pub samples: Option<String>,
    #[command(flatten)]
    pub logs: super::log_args::LogArgs,
    /// A package inventory: JSON {"instances": [{"resource", "os", "packages": [...]}]},
    /// or a raw `dpkg-query -W` / `rpm -qa` listing as RESOURCE=FILE or
    /// RESOURCE@OS=FILE (OS as in /etc/os-release: debian:12). Repeatable.
    #[arg(
        long = "inventory",
        value_name = "[RESOURCE[@OS]=]FILE",
        help_heading = "Inspector"
    )]
    pub inventories: Vec<String>,
    /// OSV advisories to match the inventories against: a directory of OSV JSON
    /// files (an osv.dev export, the GitHub advisory database) or one file. Repeatable.
    #[arg(long, value_name = "DIR", help_heading = "Inspector")]
    pub advisories: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Human format: also list passing results.
    #[arg(long)]
    pub show_passes: bool,
    /// Colours in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Files larger than this get no source snippet in human output.
const MAX_SNIPPET_FILE_BYTES: u64 = 64 * 1024 * 1024;

pub fn run_scan(a: ScanArgs) -> u8 {
    if let Err(e) = super::start_pool(a.threads) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    let Some(checked) = compile_policies(&a.policies.policies) else {
        return EXIT_ERROR;
    };
    let (mut opts, option_errors) = scan_options(&a);

    // `-` reads stdin once; the text is kept for snippets and comment skips.
    let mut stdin_text = None;
    let mut stdin_error = None;
    let mut paths = Vec::new();
    let named = input_paths(&a);
    for p in &named {
        if p.as_os_str() == "-" {
            let mut bytes = Vec::new();
            match std::io::stdin().read_to_end(&mut bytes) {
                // A log on standard input (plain or gzip) goes to the detections.
                Ok(_)
                    if let Some(kind) =
                        deadbolt::load::logs::sniff("-", &bytes[..bytes.len().min(64 * 1024)]) =>
                {
                    opts.extra_logs.push(deadbolt::load::LogFile {
                        path: PathBuf::from("-"),
                        display: "-".to_string(),
                        kind,
                        data: Some(std::mem::take(&mut bytes).into()),
                    });
                }
                Ok(_) => match deadbolt::load::decode(&bytes) {
                    Ok(s) => stdin_text = Some(s),
                    Err(detail) => {
                        stdin_error = Some(LoadError::file(
                            "-",
                            deadbolt::load::sniff::binary_message(&bytes, &detail),
                        ))
                    }
                },
                Err(e) => {
                    stdin_error = Some(LoadError::file(
                        "-",
                        format!("cannot read standard input: {e}"),
                    ))
                }
            }
        } else {
            paths.push(p.clone());
        }
    }
    let mut outcome = with_progress(!a.no_progress, &paths, |done| {
        scan::scan_all(&checked.policies, &checked.detections, &paths, &opts, done)
    });
    if let Some(text) = &stdin_text {
        let load_opts = deadbolt::load::LoadOptions {
            params: opts.params.values.clone(),
        };
        let (tpls, errors) = deadbolt::load::load_source_all("-", text, &load_opts);
        if let Some(p) = opts.params.engines.packages.as_deref() {
            let defined = std::sync::Mutex::new(std::mem::take(&mut outcome.defined));
            scan::note_defined(p, &tpls, &defined);
            outcome.defined = defined.into_inner().unwrap_or_default();
        }
        let more = scan::evaluate_templates(&checked.policies, &tpls, &opts, None, &|_| {
            Some(text.clone())
        });
        outcome.templates += more.templates;
        outcome.plans += more.plans;
        outcome.resources += more.resources;
        outcome.findings.extend(more.findings);
        outcome.load_errors.extend(more.load_errors);
        outcome.load_errors.extend(errors);
        outcome.expired_waivers.extend(more.expired_waivers);
        outcome
            .findings
            .sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
    }
    outcome.load_errors.extend(option_errors);
    outcome.load_errors.extend(stdin_error);
    // One order for every report: by file, then position.
    outcome
        .load_errors
        .sort_by(|a, b| (&a.path, a.line(), a.col()).cmp(&(&b.path, b.line(), b.col())));
    if let Some(e) = nothing_scanned(&outcome, &named) {
        outcome.load_errors.push(e);
    }
    for w in scan::inventory_warnings(&outcome, &opts.params) {
        eprintln!(
            "warning: {}",
            deadbolt::terminal::escape_control(&w.to_string())
        );
    }
    for w in &outcome.expired_waivers {
        eprintln!(
            "warning: {}:{}: the waiver for {} on {} expired on {}; its results are reported again",
            w.origin, w.pos.line, w.policy, w.resource, w.expires
        );
    }
    // Input errors always go to stderr too (machine reports also list them).
    for e in &outcome.load_errors {
        eprintln!(
            "error: {}",
            deadbolt::terminal::escape_control(&e.to_string())
        );
    }

    // Invalid policies are in every report, not only on stderr beside a clean one.
    let mut errors = outcome.load_errors.clone();
    errors.extend(policy_errors(&checked));
    let color = a.color.stdout(a.output.is_some());
    let main = render(
        a.format,
        &outcome,
        &errors,
        &checked,
        &a,
        color,
        stdin_text.as_deref(),
    );
    let mut ok = true;
    match &a.output {
        Some(path) => ok &= write_file(path, &main),
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(main.as_bytes());
            let _ = out.flush();
        }
    }
    for (path, format) in [
        (&a.sarif, Format::Sarif),
        (&a.junit, Format::Junit),
        (&a.json, Format::Json),
        (&a.github, Format::Github),
        (&a.guardduty, Format::Guardduty),
        (&a.inspector, Format::Inspector),
    ] {
        if let Some(path) = path {
            ok &= write_file(
                path,
                &render(format, &outcome, &errors, &checked, &a, false, None),
            );
        }
    }
    if let Some(path) = &a.write_baseline {
        ok &= write_file(path, &baseline::render(&outcome.findings));
    }
    let code = if ok {
        exit_code(&outcome, &checked, a.fail_on, a.fail_on_unknown)
    } else {
        EXIT_ERROR
    };
    // The process ends here: freeing every result, document and advisory one by
    // one would only delay the exit (a second on a large inventory scan).
    std::mem::forget(outcome);
    std::mem::forget(opts);
    code
}

/// The errors of policy files as report entries (file, line, column, message).
fn policy_errors(checked: &Checked) -> Vec<deadbolt::load::LoadError> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.level == deadbolt::dsl::diag::Level::Error)
        .map(|d| {
            let (line, col) = d.line_col();
            deadbolt::load::LoadError::at(
                &d.file,
                deadbolt::doc::Pos::new(line as u32, col as u32),
                format!("invalid policy: error[{}]: {}", d.code, d.message),
            )
        })
        .collect()
}

/// The paths to scan: as given, else `.` — unless inventories are the input.
fn input_paths(a: &ScanArgs) -> Vec<PathBuf> {
    if a.paths.is_empty() && a.inventories.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    }
}

/// A scan that found no input at all is an error, never "0 failed" on nothing.
fn nothing_scanned(outcome: &ScanOutcome, paths: &[PathBuf]) -> Option<deadbolt::load::LoadError> {
    if outcome.templates > 0
        || outcome.logs > 0
        || outcome.inventory_entries > 0
        || !outcome.load_errors.is_empty()
    {
        return None;
    }
    if paths.is_empty() {
        return Some(deadbolt::load::LoadError::file(
            "--inventory",
            "nothing to scan: the inventories list no entries; give inventories with instances, or template paths",
        ));
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let skipped = match outcome.skipped {
        0 => String::new(),
        1 => " (1 file was read and is not a template or plan)".to_string(),
        n => format!(" ({n} files were read and are not templates or plans)"),
    };
    Some(deadbolt::load::LoadError::file(
        names.first().cloned().unwrap_or_else(|| ".".into()),
        format!(
            "nothing to scan: no CloudFormation template, Terraform plan or log found in {}{skipped}; name the files or directories that hold them",
            names.join(", ")
        ),
    ))
}

/// The options of a scan, and the errors of option files that could not be read
/// (they are reported in every format; the scan runs without them).
fn scan_options(a: &ScanArgs) -> (ScanOptions, Vec<LoadError>) {
    let mut errors = Vec::new();
    let mut params = Params::default();
    if let Some(f) = &a.params_file {
        match scan::read_params_file(f) {
            Ok(v) => params.values.extend(v),
            Err(e) => errors.push(e),
        }
    }
    params.values.extend(a.params.iter().cloned());
    if let Some(path) = &a.keystore {
        match open_keystore(path, a.root_key_file.as_deref()) {
            Ok(kms) => params.engines.keys = Some(std::sync::Arc::new(kms)),
            Err(e) => errors.push(LoadError::file(path.display().to_string(), e)),
        }
    }
    if let Some(p) = read_packages(a, &mut errors) {
        params.engines.packages = Some(std::sync::Arc::new(p));
    }
    let mut logs = deadbolt::load::logs::LogOptions::default();
    errors.extend(a.logs.apply(&mut params.engines, &mut logs));
    if let Some(f) = &a.samples {
        match deadbolt::load::samples::read(f) {
            Ok(s) => params.engines.samples = s,
            Err(e) => errors.push(e),
        }
    }
    let waivers = match a.waivers.as_deref().map(waivers::read) {
        Some(Ok(w)) => w,
        Some(Err(e)) => {
            errors.push(e);
            Vec::new()
        }
        None => Vec::new(),
    };
    let baseline = match &a.baseline {
        Some(f) => match baseline::read(f) {
            Ok(b) => Some((f.clone(), b)),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        None => None,
    };
    let opts = ScanOptions {
        params,
        waivers,
        baseline,
        logs,
        ..ScanOptions::default()
    };
    (opts, errors)
}

/// The inventories and advisories, matched once; `None` when neither is given.
fn read_packages(
    a: &ScanArgs,
    errors: &mut Vec<LoadError>,
) -> Option<deadbolt::inspector::packages::scan::PackageScan> {
    use deadbolt::inspector::packages::{Advisories, InventoryArg};
    if a.inventories.is_empty() && a.advisories.is_empty() {
        return None;
    }
    let mut inventories = Vec::new();
    for spec in &a.inventories {
        match InventoryArg::parse(spec).map_err(|e| LoadError::file("--inventory", e)) {
            Ok(arg) => match arg.read() {
                Ok(inv) => {
                    for w in inv.warnings() {
                        eprintln!(
                            "warning: {}",
                            deadbolt::terminal::escape_control(&w.to_string())
                        );
                    }
                    inventories.push(inv)
                }
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }
    if a.inventories.is_empty() {
        eprintln!(
            "warning: --advisories is given without --inventory: no packages to match them against"
        );
    } else if a.advisories.is_empty() {
        eprintln!(
            "warning: --inventory is given without --advisories: every inventory entry is unknown (give --advisories DIR of OSV JSON files)"
        );
    }
    let advisories = (!a.advisories.is_empty()).then(|| Advisories::load_many(&a.advisories));
    Some(deadbolt::inspector::packages::scan::PackageScan::new(
        inventories,
        advisories,
    ))
}

fn open_keystore(path: &Path, root_key_file: Option<&Path>) -> Result<deadbolt::kms::Kms, String> {
    let root = deadbolt::kms::RootKey::from_env_or_file(root_key_file)
        .map_err(|e| format!("--keystore: {e}"))?;
    if !path.exists() {
        return Err("--keystore: no keystore there (create one with `deadbolt kms init`)".into());
    }
    deadbolt::kms::Kms::open(path, root).map_err(|e| format!("--keystore: {e}"))
}

fn render(
    format: Format,
    outcome: &ScanOutcome,
    errors: &[deadbolt::load::LoadError],
    checked: &Checked,
    a: &ScanArgs,
    color: bool,
    stdin_text: Option<&str>,
) -> String {
    let findings = &outcome.findings;
    match format {
        Format::Json => report::json::render(findings, errors),
        Format::Sarif => report::sarif::render(findings, &checked.policies, errors),
        Format::Junit => report::junit::render(findings, &checked.policies, errors),
        Format::Github => report::github::render(findings, errors),
        Format::Guardduty => report::guardduty::render(findings, &checked.detections, errors),
        Format::Inspector => report::inspector::render(findings, &checked.policies, errors),
        Format::Human => {
            let stats = stats_line(outcome, checked.policies.len(), checked.detections.len());
            let opts = HumanOptions {
                color,
                show_passes: a.show_passes,
                width: 100,
            };
            let source = |file: &str| -> Option<String> {
                if file == "-" {
                    return stdin_text.map(str::to_string);
                }
                // Snippets come from files read whole: a large log keeps its
                // file:line but shows no source, so output costs no more memory
                // than the scan did.
                let len = std::fs::metadata(file).ok()?.len();
                (len <= MAX_SNIPPET_FILE_BYTES)
                    .then(|| std::fs::read_to_string(file).ok())
                    .flatten()
            };
            report::human::render(findings, errors, &stats, &opts, &source)
        }
    }
}

/// "29 resources in 2 templates and 1 plan, 25 policies".
fn stats_line(o: &ScanOutcome, policies: usize, detections: usize) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let cfn = o.templates - o.plans;
    let mut inputs = Vec::new();
    if cfn > 0 || o.plans == 0 {
        inputs.push(count(cfn, "template", "templates"));
    }
    if o.plans > 0 {
        inputs.push(count(o.plans, "plan", "plans"));
    }
    let mut line = format!(
        "{} in {}, {}",
        count(o.resources, "resource", "resources"),
        inputs.join(" and "),
        count(policies, "policy", "policies")
    );
    if o.logs > 0 {
        line.push_str(&format!(
            "; {} in {}, {}",
            count(o.records, "log record", "log records"),
            count(o.logs, "log file", "log files"),
            count(detections, "detection", "detections")
        ));
    }
    if o.inventories > 0 {
        let inv = format!(
            "{} ({}) in {}",
            count(o.inventory_entries, "inventory entry", "inventory entries"),
            count(o.packages, "package", "packages"),
            count(o.inventories, "inventory", "inventories")
        );
        if o.templates == 0 && o.logs == 0 {
            // An inventory-only scan: no "0 resources in 0 templates".
            return format!("{inv}, {}", count(policies, "policy", "policies"));
        }
        line.push_str(&format!("; {inv}"));
    }
    line
}

fn write_file(path: &Path, text: &str) -> bool {
    match report::atomic::write_atomic(path, text.as_bytes()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: {}: cannot write the report: {e}", path.display());
            false
        }
    }
}

fn exit_code(
    outcome: &ScanOutcome,
    checked: &Checked,
    fail_on: Severity,
    fail_on_unknown: bool,
) -> u8 {
    if !outcome.load_errors.is_empty() || checked.has_errors() {
        return EXIT_ERROR;
    }
    let failing = outcome.findings.iter().any(|f| {
        f.severity >= fail_on
            && (f.status == Status::Fail || (fail_on_unknown && f.status == Status::Unknown))
    });
    if failing {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// Runs the scan with a progress bar on stderr when it is a terminal and the
/// input is large enough for one to matter.
fn with_progress<T>(
    enabled: bool,
    paths: &[PathBuf],
    f: impl FnOnce(Option<&AtomicUsize>) -> T,
) -> T {
    let show = enabled && std::io::stderr().is_terminal() && paths.iter().any(|p| p.is_dir());
    if !show {
        return f(None);
    }
    let done = AtomicUsize::new(0);
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanned {pos} templates ({per_sec}) {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let stop = AtomicUsize::new(0);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            // Appear only for scans that take a while.
            std::thread::sleep(Duration::from_millis(300));
            while stop.load(Ordering::Relaxed) == 0 {
                bar.set_position(done.load(Ordering::Relaxed) as u64);
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = f(Some(&done));
        stop.store(1, Ordering::Relaxed);
        r
    });
    bar.finish_and_clear();
    result
}
