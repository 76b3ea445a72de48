//! Pieces shared by the verbs of the command line.

pub mod check;
pub mod compile;
pub mod diff;
pub mod kms;
pub mod log_args;
pub mod scan;
pub mod test;
pub mod waf;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use deadbolt::compile::Severity;
use deadbolt::dsl::Checked;

/// Exit codes: 0 clean, 1 findings (or failed tests), 2 usage or input errors.
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Args, Clone)]
pub struct PolicyArgs {
    /// Policy file or directory of `*.policy` files (repeatable). Default: the built-in catalogue.
    #[arg(long = "policies", short = 'p', value_name = "DIR|FILE")]
    pub policies: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to stdout (not to a file).
    pub fn stdout(self, to_file: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                !to_file
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| "expected one of: info, low, medium, high, critical".into())
}

/// Compiles policies and prints their diagnostics to stderr. `None` when the
/// policy files could not be read at all.
pub fn compile_policies(paths: &[PathBuf]) -> Option<Checked> {
    match deadbolt::scan::load_policies(paths) {
        Ok(c) => {
            print_diagnostics(&c, std::io::stderr().is_terminal());
            Some(c)
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

pub fn print_diagnostics(c: &Checked, color: bool) {
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

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Starts the global worker pool. Evaluation recurses over policy expressions, so
/// workers get room for it.
pub fn start_pool(threads: Option<usize>) -> Result<(), String> {
    if threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(16 << 20);
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    pool.build_global()
        .map_err(|e| format!("cannot start the worker threads: {e}"))
}
