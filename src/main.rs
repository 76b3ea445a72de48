//! The `deadbolt` command line. Every verb is a thin layer over the library.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use deadbolt::compile::Severity;
use deadbolt::dsl::{Checked, Level};
use deadbolt::eval::Params;
use deadbolt::report::{self, human::HumanOptions};
use deadbolt::result::Status;
use deadbolt::scan::{self, ScanOutcome};

/// Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input errors.
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "deadbolt",
    version,
    about = "Policy-as-code compliance scanner for AWS: CloudFormation, Terraform plans, and the claims they make",
    long_about = "deadbolt checks CloudFormation templates and Terraform plans against security policies \
written in its own small language. It ships a catalogue of encryption, transport, KMS, WAF and \
exposure policies, and reports each (policy, resource) as pass, fail or unknown with the exact \
file, line and column.\n\nExit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error, \
unreadable input or invalid policy.",
    after_help = "Examples:\n  deadbolt scan fixtures/examples\n  deadbolt scan infra/ --format json --output results.json\n  \
deadbolt scan plan.json --fail-on high\n  deadbolt check policies/\n  deadbolt explain s3-bucket-sse-kms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan templates and plans with the policies (the built-in catalogue by default).
    Scan(ScanArgs),
    /// Compile policy files and report problems, without scanning anything.
    Check(CheckArgs),
    /// Print a policy's documentation.
    Explain(ExplainArgs),
    /// List the policies (id, severity, title).
    List(PolicyArgs),
}

#[derive(Args)]
struct PolicyArgs {
    /// Policy file or directory of `*.policy` files (repeatable). Default: the built-in catalogue.
    #[arg(long = "policies", short = 'p', value_name = "DIR|FILE")]
    policies: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct ScanArgs {
    /// Files or directories to scan (recursively); `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    policies: PolicyArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
    /// Exit 1 when a failure has at least this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info", value_parser = parse_severity)]
    fail_on: Severity,
    /// Also exit 1 when a result is unknown (a value that cannot be known statically).
    #[arg(long)]
    fail_on_unknown: bool,
    /// Set a CloudFormation parameter or pseudo parameter (NAME=VALUE; repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = scan::parse_param)]
    params: Vec<(String, String)>,
    /// Parameters file: {"Name": "Value"} or [{"ParameterKey": ..., "ParameterValue": ...}].
    #[arg(long, value_name = "FILE")]
    params_file: Option<String>,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Human format: also list passing results.
    #[arg(long)]
    show_passes: bool,
    /// Colours in human output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Policy files or directories. Default: the built-in catalogue.
    #[arg(value_name = "POLICIES")]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ExplainArgs {
    /// The policy id.
    id: String,
    #[command(flatten)]
    policies: PolicyArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| "expected one of: info, low, medium, high, critical".into())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Check(a) => run_check(a),
        Command::Explain(a) => run_explain(a),
        Command::List(a) => run_list(a),
    };
    ExitCode::from(code)
}

/// Compiles policies and prints their diagnostics to stderr. `None` when the
/// policy files could not be read at all.
fn compile_policies(paths: &[PathBuf], color: bool) -> Option<Checked> {
    match scan::load_policies(paths) {
        Ok(c) => {
            print_diagnostics(&c, color);
            Some(c)
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn print_diagnostics(c: &Checked, color: bool) {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
    for d in &c.diagnostics {
        let mut s = String::new();
        if handler.render_report(&mut s, d).is_ok() {
            eprintln!("{s}");
        } else {
            eprintln!("{}", d.short());
        }
    }
}

fn run_check(a: CheckArgs) -> u8 {
    let color = std::io::stderr().is_terminal();
    let Some(c) = compile_policies(&a.paths, color) else {
        return EXIT_ERROR;
    };
    let errors = c
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = c.diagnostics.len() - errors;
    if errors > 0 {
        eprintln!(
            "{errors} error{}, {warnings} warning{}; {} polic{} compiled",
            plural(errors),
            plural(warnings),
            c.policies.len(),
            if c.policies.len() == 1 { "y" } else { "ies" }
        );
        EXIT_ERROR
    } else {
        println!(
            "ok: {} polic{} compiled, {warnings} warning{}",
            c.policies.len(),
            if c.policies.len() == 1 { "y" } else { "ies" },
            plural(warnings)
        );
        0
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn run_explain(a: ExplainArgs) -> u8 {
    let Some(c) = compile_policies(&a.policies.policies, std::io::stderr().is_terminal()) else {
        return EXIT_ERROR;
    };
    let Some(p) = c.policies.iter().find(|p| p.id == a.id) else {
        let ids: Vec<&str> = c.policies.iter().map(|p| p.id.as_str()).collect();
        eprintln!("error: no policy `{}`", a.id);
        if let Some(s) = deadbolt::dsl::diag::did_you_mean(&a.id, ids.iter().copied()) {
            eprintln!("help: did you mean `{s}`?");
        } else {
            eprintln!("help: `deadbolt list` shows every policy");
        }
        return EXIT_ERROR;
    };
    let mut out = String::new();
    out.push_str(&format!("{} — {}\n\n", p.id, p.title));
    out.push_str(&format!("severity:    {}\n", p.severity));
    let types: Vec<&str> = p
        .blocks
        .iter()
        .flat_map(|b| b.types.iter().map(|s| s.as_str()))
        .collect();
    out.push_str(&format!("applies to:  {}\n", types.join(", ")));
    if !p.controls.is_empty() {
        out.push_str(&format!("controls:    {}\n", p.controls.join(", ")));
    }
    out.push_str(&format!("defined in:  {}:{}\n", p.file, p.line));
    if !p.description.is_empty() {
        out.push_str(&format!("\n{}\n", p.description));
    }
    if !p.remediation.is_empty() {
        out.push_str(&format!("\nRemediation: {}\n", p.remediation));
    }
    if !p.references.is_empty() {
        out.push_str("\nReferences:\n");
        for r in &p.references {
            out.push_str(&format!("  - {r}\n"));
        }
    }
    print!("{out}");
    0
}

fn run_list(a: PolicyArgs) -> u8 {
    let Some(c) = compile_policies(&a.policies, std::io::stderr().is_terminal()) else {
        return EXIT_ERROR;
    };
    let width = c.policies.iter().map(|p| p.id.len()).max().unwrap_or(0);
    for p in &c.policies {
        println!("{:<width$}  {:<8}  {}", p.id, p.severity.as_str(), p.title);
    }
    if c.has_errors() {
        EXIT_ERROR
    } else {
        0
    }
}

fn run_scan(a: ScanArgs) -> u8 {
    let color = match a.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            a.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    if a.threads == Some(0) {
        eprintln!("error: --threads must be at least 1");
        return EXIT_ERROR;
    }
    // Evaluation recurses over policy expressions; give workers room to do so.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(n) = a.threads {
        pool = pool.num_threads(n);
    }
    if let Err(e) = pool.build_global() {
        eprintln!("error: cannot start the worker threads: {e}");
        return EXIT_ERROR;
    }
    let Some(checked) = compile_policies(&a.policies.policies, std::io::stderr().is_terminal())
    else {
        return EXIT_ERROR;
    };
    let mut params = Params::default();
    if let Some(f) = &a.params_file {
        match scan::read_params_file(f) {
            Ok(list) => params.values.extend(list),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    }
    params.values.extend(a.params.iter().cloned());

    // `-` reads stdin once; the text is kept for snippets.
    let mut stdin_text = None;
    let mut paths = Vec::new();
    for p in &a.paths {
        if p.as_os_str() == "-" {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                eprintln!("error: -: cannot read standard input: {e}");
                return EXIT_ERROR;
            }
            stdin_text = Some(s);
        } else {
            paths.push(p.clone());
        }
    }
    let mut outcome = with_progress(!a.no_progress, &paths, |done| {
        scan::scan(&checked.policies, &paths, &params, done)
    });
    if let Some(text) = &stdin_text {
        match deadbolt::load::load_source("-", text) {
            Ok(tpls) => {
                outcome.templates += tpls.len();
                outcome.resources += tpls.iter().map(|t| t.resources.len()).sum::<usize>();
                let mut f = deadbolt::eval::evaluate(&checked.policies, &tpls, &params, None);
                outcome.findings.append(&mut f);
                outcome
                    .findings
                    .sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
            }
            Err(e) => outcome.load_errors.push(e),
        }
    }

    let rendered = match a.format {
        Format::Json => report::json::render(&outcome.findings, &outcome.load_errors),
        Format::Human => {
            let stats = format!(
                "{} resources in {} templates, {} policies",
                outcome.resources,
                outcome.templates,
                checked.policies.len()
            );
            let opts = HumanOptions {
                color,
                show_passes: a.show_passes,
                width: 100,
            };
            let stdin_ref = stdin_text.as_deref();
            let source = |file: &str| -> Option<String> {
                if file == "-" {
                    return stdin_ref.map(str::to_string);
                }
                std::fs::read_to_string(file).ok()
            };
            report::human::render(
                &outcome.findings,
                &outcome.load_errors,
                &stats,
                &opts,
                &source,
            )
        }
    };
    if let Some(path) = &a.output {
        if let Err(e) = report::atomic::write_atomic(path, rendered.as_bytes()) {
            eprintln!("error: {}: cannot write the report: {e}", path.display());
            return EXIT_ERROR;
        }
    } else {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(rendered.as_bytes());
        let _ = out.flush();
    }
    // Input errors always go to stderr too (the JSON report also lists them).
    for e in &outcome.load_errors {
        eprintln!("error: {e}");
    }
    exit_code(&outcome, &checked, a.fail_on, a.fail_on_unknown)
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
