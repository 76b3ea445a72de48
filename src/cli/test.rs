//! `deadbolt test`: run policy unit tests and snapshots.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use deadbolt::harness::test::{run, TestOptions};
use deadbolt::harness::test_report;

use super::{ColorChoice, PolicyArgs, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Human,
    Junit,
}

#[derive(Args)]
#[command(after_help = "Examples:
  deadbolt test policies/ --coverage                  # every tests/*.yaml under policies/
  deadbolt test my-rules/tests/s3.yaml                # one file; the policies beside it
  deadbolt test my-rules/ --update                    # write new snapshots, rewrite changed ones
  deadbolt test policies/ --require-coverage --format junit -o tests.xml")]
pub struct TestArgs {
    /// Test files, or directories holding `tests/*.yaml` and `*.test.yaml` (and the
    /// `*.policy` files they test). Default: the current directory.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Write new snapshots and rewrite those that differ (shows what changed).
    #[arg(long)]
    pub update: bool,
    /// List, per policy, whether it has a passing and a failing case, and the
    /// `require` clauses that never decided a result.
    #[arg(long)]
    pub coverage: bool,
    /// Exit 1 when a policy lacks a passing or a failing case (implies --coverage).
    #[arg(long)]
    pub require_coverage: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: TestFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also list passing cases one by one.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Colours in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

pub fn run_test(a: TestArgs) -> u8 {
    let opts = TestOptions {
        paths: a.paths.clone(),
        policies: a.policies.policies.clone(),
        update: a.update,
    };
    let result = run(&opts);
    let color = a.color.stdout(a.output.is_some());
    let mut text = match a.format {
        TestFormat::Human => test_report::render_human(&result, color, a.verbose),
        TestFormat::Junit => test_report::render_junit(&result),
    };
    let show_coverage = a.coverage || a.require_coverage;
    if show_coverage && a.format == TestFormat::Human {
        text.push_str(&test_report::render_coverage(&result.coverage, color));
    }
    match &a.output {
        Some(path) => {
            if let Err(e) = deadbolt::report::atomic::write_atomic(path, text.as_bytes()) {
                eprintln!("error: {}: cannot write the report: {e}", path.display());
                return EXIT_ERROR;
            }
        }
        None => print!("{text}"),
    }
    if a.format != TestFormat::Human {
        // Problems that are not test results go to stderr for people.
        for w in &result.warnings {
            eprintln!("{w}");
        }
        for e in &result.errors {
            eprintln!("error: {e}");
        }
        if show_coverage {
            eprint!(
                "{}",
                test_report::render_coverage(&result.coverage, std::io::stderr().is_terminal())
            );
        }
    }
    if !result.errors.is_empty() {
        return EXIT_ERROR;
    }
    let untested = result.coverage.iter().any(|c| !c.tested());
    if result.failed() > 0 || result.new_snapshots() > 0 || (a.require_coverage && untested) {
        return EXIT_FINDINGS;
    }
    0
}
