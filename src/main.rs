//! The `deadbolt` command line. Every verb is a thin layer over the library; the
//! verbs live in `cli/`, one file each.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::check::{CheckArgs, ExplainArgs, ListArgs};
use cli::compile::CompileArgs;
use cli::diff::DiffArgs;
use cli::kms::KmsArgs;
use cli::scan::ScanArgs;
use cli::test::TestArgs;
use cli::waf::WafArgs;
use cli::EXIT_ERROR;

#[derive(Parser)]
#[command(
    name = "deadbolt",
    version,
    about = "Policy-as-code compliance scanner for AWS: CloudFormation, Terraform plans, and the claims they make",
    long_about = "deadbolt checks CloudFormation templates and Terraform plans against security policies \
written in its own small language, and runs GuardDuty-style detections over VPC Flow Logs, \
CloudTrail and Route 53 Resolver query logs. It ships a catalogue of encryption, transport, KMS, \
WAF and exposure policies and of detections, and reports each (policy, resource) as pass, fail or \
unknown with the exact file, line and column.\n\nExit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error, \
unreadable input or invalid policy.",
    after_help = "Examples:\n  deadbolt scan fixtures/examples\n  deadbolt scan infra/ --format json --output results.json\n  \
deadbolt scan infra/ --sarif deadbolt.sarif --junit deadbolt.xml --fail-on high\n  \
deadbolt check policies/\n  deadbolt explain s3-bucket-sse-kms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan templates, plans and logs with the policies and detections (the built-in catalogue by default).
    Scan(Box<ScanArgs>),
    /// Compile policy files and report problems, without scanning anything.
    Check(CheckArgs),
    /// Print a policy's documentation.
    Explain(ExplainArgs),
    /// List the policies (id, severity, title).
    List(ListArgs),
    /// Run policy unit tests and snapshots (`tests/*.yaml`, `*.test.yaml`).
    Test(TestArgs),
    /// Show what a policy change does to the results over a corpus.
    Diff(DiffArgs),
    /// The built-in KMS: keys, encryption, envelope files, and an AWS-compatible endpoint.
    Kms(KmsArgs),
    /// AWS WAFv2 web ACLs: evaluate requests as AWS WAF would.
    Waf(WafArgs),
    /// Compile detections to SQL for DuckDB, Trino, Athena or Spark.
    Compile(CompileArgs),
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
        Command::Scan(a) => cli::scan::run_scan(*a),
        Command::Check(a) => cli::check::run_check(a),
        Command::Explain(a) => cli::check::run_explain(a),
        Command::List(a) => cli::check::run_list(a),
        Command::Test(a) => cli::test::run_test(a),
        Command::Diff(a) => cli::diff::run_diff(a),
        Command::Kms(a) => cli::kms::run_kms(a),
        Command::Waf(a) => cli::waf::run_waf(a),
        Command::Compile(a) => cli::compile::run_compile(a),
    };
    ExitCode::from(code)
}
