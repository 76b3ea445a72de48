//! `deadbolt compile`: detections as SQL for DuckDB, Trino, Athena and Spark.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use deadbolt::dsl::diag::did_you_mean;
use deadbolt::dsl::{Diag, PolicySource};
use deadbolt::eval::engines::Engines;
use deadbolt::load::logs::LogOptions;
use deadbolt::report::atomic::write_atomic;
use deadbolt::sql::{self, Options, Tables, Target};

use super::log_args::LogArgs;
use super::{compile_policies, plural, PolicyArgs, EXIT_ERROR};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Duckdb,
    Trino,
    Athena,
    Spark,
}

impl TargetArg {
    fn target(self) -> Target {
        match self {
            TargetArg::Duckdb => Target::DuckDb,
            TargetArg::Trino => Target::Trino,
            TargetArg::Athena => Target::Athena,
            TargetArg::Spark => Target::Spark,
        }
    }
}

#[derive(Args)]
#[command(
    after_help = "Each detection becomes one query (DIR/ID.sql) over the tables of Athena's documentation:
cloudtrail_logs, vpc_flow_logs and r53_rlogs (DIR/tables.sql has their DDL for the target). A query
returns a row per alert (status 'fail': group_key, resource, first_seen_ms, last_seen_ms, records,
file) and a row per file with records it cannot decide (status 'unknown'). Threat lists, the trusted
list and AWS's ranges are tables: give the lists and they are written to DIR/lists/*.tsv.

A detection whose meaning the target cannot express is refused with the reason (exit 2); the others
are still written.

Examples:
  deadbolt compile --target athena -o sql/
  deadbolt compile --target duckdb --detection recon-portscan
  deadbolt compile --target trino --table flowlog=logs.flows --threat-list ips=ips.txt -o sql/
  deadbolt compile --target spark --flowlog-format '${version} ${srcaddr} ${dstaddr} ...' -o sql/"
)]
pub struct CompileArgs {
    /// The SQL engine.
    #[arg(long, short = 't', value_enum)]
    pub target: TargetArg,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Compile only this detection (repeatable). Default: every detection.
    #[arg(long = "detection", short = 'd', value_name = "ID")]
    pub detections: Vec<String>,
    /// Write DIR/ID.sql per detection, DIR/tables.sql and DIR/lists/; default: the queries to standard output.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Read a source from another table: flowlog=, cloudtrail=, dns=, lists=, networks=, domains= (repeatable).
    #[arg(long = "table", value_name = "SOURCE=NAME", value_parser = deadbolt::scan::parse_param)]
    pub tables: Vec<(String, String)>,
    #[command(flatten)]
    pub logs: LogArgs,
}

pub fn run_compile(a: CompileArgs) -> u8 {
    let mut opts = Options::new(a.target.target());
    let mut tables = Tables::default();
    for (k, v) in &a.tables {
        if let Err(e) = tables.set(k, v) {
            eprintln!("error: --table {k}={v}: {e}");
            return EXIT_ERROR;
        }
    }
    opts.tables = tables;
    let mut engines = Engines::default();
    let mut log_opts = LogOptions::default();
    let errors = a.logs.apply(&mut engines, &mut log_opts);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return EXIT_ERROR;
    }
    opts.flow_format = log_opts.flowlog_format;
    let Some(checked) = compile_policies(&a.policies.policies) else {
        return EXIT_ERROR;
    };
    if checked.has_errors() {
        eprintln!("error: the policies do not compile; nothing was written");
        return EXIT_ERROR;
    }
    let mut chosen = Vec::new();
    for id in &a.detections {
        match checked.detections.iter().find(|d| &d.id == id) {
            Some(d) => chosen.push(d),
            None => {
                let hint = did_you_mean(id, checked.detections.iter().map(|d| d.id.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                eprintln!(
                    "error: no detection `{}`{hint}; `deadbolt list` names them",
                    deadbolt::terminal::clip(id, 80)
                );
                return EXIT_ERROR;
            }
        }
    }
    if a.detections.is_empty() {
        chosen = checked.detections.iter().collect();
    }
    if chosen.is_empty() {
        eprintln!("error: the policies hold no detection to compile");
        return EXIT_ERROR;
    }
    let sources = policy_sources(&a.policies.policies);
    let mut out = Vec::new();
    let mut refused = 0;
    for d in chosen {
        match sql::compile(d, &opts) {
            Ok(c) => out.push(c),
            Err(r) => {
                refused += 1;
                print_refusal(&r, &sources);
            }
        }
    }
    let code = if refused > 0 { EXIT_ERROR } else { 0 };
    match &a.output {
        None => {
            for c in &out {
                println!("{}", c.sql);
            }
        }
        Some(dir) => {
            if let Err(e) = write_dir(dir, &out, &opts, &engines, &a.logs) {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
            eprintln!(
                "{} quer{} for {} written to {}{}",
                out.len(),
                if out.len() == 1 { "y" } else { "ies" },
                opts.target.as_str(),
                dir.display(),
                if refused > 0 {
                    format!("; {refused} detection{} refused", plural(refused))
                } else {
                    String::new()
                }
            );
        }
    }
    code
}

fn write_dir(
    dir: &Path,
    out: &[sql::Compiled],
    opts: &Options,
    engines: &Engines,
    logs: &LogArgs,
) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
    let write = |name: &Path, text: &str| {
        write_atomic(name, text.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", name.display()))
    };
    for c in out {
        write(&dir.join(format!("{}.sql", c.id)), &c.sql)?;
    }
    write(
        &dir.join("tables.sql"),
        &sql::ddl(opts.target, &opts.tables, &opts.flow_fields()),
    )?;
    let has_lists = !engines.threat_lists.is_empty()
        || engines.trusted.is_some()
        || engines.aws_ranges.is_some();
    if has_lists {
        let mut sources: Vec<(String, String)> = logs
            .threat_lists
            .iter()
            .map(|(n, p)| (format!("threat:{n}"), p.clone()))
            .collect();
        if let Some(p) = &logs.trusted_list {
            sources.push(("trusted:trusted".into(), p.clone()));
        }
        if let Some(p) = &logs.aws_ip_ranges {
            sources.push(("aws:aws-ip-ranges".into(), p.clone()));
        }
        let rows = sql::lists::rows(engines, &sources)?;
        let lists = dir.join("lists");
        std::fs::create_dir_all(&lists)
            .map_err(|e| format!("{}: cannot create the directory: {e}", lists.display()))?;
        write(&lists.join("lists.tsv"), &rows.lists)?;
        write(&lists.join("networks.tsv"), &rows.networks)?;
        write(&lists.join("domains.tsv"), &rows.domains)?;
    }
    Ok(())
}

/// The policy texts, to show a refused detection in its source.
fn policy_sources(paths: &[PathBuf]) -> Vec<PolicySource> {
    if paths.is_empty() {
        deadbolt::catalog::builtin_sources()
    } else {
        deadbolt::catalog::read_sources(paths).unwrap_or_default()
    }
}

fn print_refusal(r: &sql::Refusal, sources: &[PolicySource]) {
    let Some(src) = sources.iter().find(|s| s.name == r.file) else {
        eprintln!("error: {r}");
        return;
    };
    let d = Diag::error(
        "sql-unsupported",
        src,
        r.span,
        format!("detection {} cannot be compiled for {}", r.detection, r.target.as_str()),
    )
    .label(r.reason.clone())
    .help("the native engine (deadbolt scan) runs it; or change the rule to constructs the target can express");
    let theme = if std::io::stderr().is_terminal() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut s = String::new();
    if handler.render_report(&mut s, &d).is_ok() {
        eprintln!("{s}");
    } else {
        eprintln!("{}", d.short());
    }
}
