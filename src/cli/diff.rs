//! `deadbolt diff`: what a policy change does to the results over a corpus.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use deadbolt::eval::Params;
use deadbolt::harness::diff::{self, DiffOptions};

use super::{ColorChoice, EXIT_ERROR};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
}

#[derive(Args)]
#[command(after_help = "Examples:
  deadbolt diff --old-rev main infra/                 # the catalogue now vs at main, over infra/
  deadbolt diff --old-rev HEAD~1 --new my-policies/ corpus/
  deadbolt diff --old before/ --new after/ corpus/ --format json --fail-on-change")]
pub struct DiffArgs {
    /// Corpus: files or directories to scan (recursively).
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// The policies before the change (file or directory; repeatable).
    #[arg(long, value_name = "DIR|FILE")]
    pub old: Vec<PathBuf>,
    /// The policies before the change as they were at git revision REV: the --old
    /// paths at REV or, without --old, the --new policies (default: the built-in
    /// catalogue's policies/) at REV.
    #[arg(long, value_name = "REV")]
    pub old_rev: Option<String>,
    /// The policies after the change. Default: the built-in catalogue.
    #[arg(long, value_name = "DIR|FILE")]
    pub new: Vec<PathBuf>,
    /// Exit 1 when any result was added, removed or changed.
    #[arg(long)]
    pub fail_on_change: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: DiffFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Set a CloudFormation parameter or pseudo parameter (NAME=VALUE; repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = deadbolt::scan::parse_param)]
    pub params: Vec<(String, String)>,
    /// Parameters file, as for `scan`.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<String>,
    #[command(flatten)]
    pub logs: super::log_args::LogArgs,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Colours in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

pub fn run_diff(a: DiffArgs) -> u8 {
    if let Err(e) = super::start_pool(a.threads) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    let result = (|| -> Result<diff::DiffReport, String> {
        let (old_policies, new_policies) =
            diff::resolve_specs(&a.old, a.old_rev.as_deref(), &a.new)?;
        let mut params = Params::default();
        if let Some(f) = &a.params_file {
            params
                .values
                .extend(deadbolt::scan::read_params_file(f).map_err(|e| e.to_string())?);
        }
        params.values.extend(a.params.iter().cloned());
        let mut logs = deadbolt::load::logs::LogOptions::default();
        let list_errors = a.logs.apply(&mut params.engines, &mut logs);
        let mut report = diff::run_diff(&DiffOptions {
            old_policies,
            new_policies,
            paths: a.paths.clone(),
            params,
            logs,
        })?;
        report.load_errors.extend(list_errors);
        Ok(report)
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let text = match a.format {
        DiffFormat::Human => diff::render_human(&report, a.color.stdout(a.output.is_some())),
        DiffFormat::Json => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for e in &report.load_errors {
                eprintln!("error: {e}");
            }
            diff::render_json(&report)
        }
    };
    match &a.output {
        Some(path) => {
            if let Err(e) = deadbolt::report::atomic::write_atomic(path, text.as_bytes()) {
                eprintln!("error: {}: cannot write the report: {e}", path.display());
                return EXIT_ERROR;
            }
        }
        None => print!("{text}"),
    }
    diff::exit_code(&report, a.fail_on_change)
}
