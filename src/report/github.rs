//! `--format github`: GitHub Actions workflow commands, one line per annotation:
//!
//! ```text
//! ::error file=infra/app.yaml,line=27,col=7,title=deadbolt ebs-volume-encryption (high)::volume PlainVolume stores data unencrypted
//! ```
//!
//! - load errors: `::error` titled `deadbolt input error`, first;
//! - fail: `::error` for critical and high, `::warning` for medium, `::notice` for
//!   low and info;
//! - unknown: `::warning`, titled `... (high, unknown)`. It is not a pass, so it
//!   is shown, but not as an error, because it is not a proven failure;
//! - skipped: `::notice`, titled `... (high, skipped)`, with the reason before the
//!   message, so that a suppression stays visible in the pull request;
//! - pass: nothing.
//!
//! Properties are escaped as the runner expects (`%`, `\r`, `\n`, `:` and `,`);
//! the message only needs `%`, `\r` and `\n`. Other control characters are
//! written visibly (`\e`, `\u{7}`), as in every report. `line` and `col` are left out when
//! unknown (0). Paths are written with forward slashes.

use crate::compile::Severity;
use crate::load::LoadError;
use crate::result::{Finding, Status};
use crate::terminal::escape_control;

/// Renders findings and load errors as workflow commands, one per line.
pub fn render(findings: &[Finding], errors: &[LoadError]) -> String {
    let mut out = String::new();
    for e in errors {
        push(
            &mut out,
            "error",
            &e.path,
            e.line(),
            e.col(),
            "deadbolt input error",
            &e.message,
        );
    }
    for f in findings {
        let sev = f.severity.as_str();
        let (command, title, message) = match f.status {
            Status::Pass => continue,
            Status::Fail => (
                match f.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium => "warning",
                    Severity::Low | Severity::Info => "notice",
                },
                format!("deadbolt {} ({sev})", f.policy),
                f.message.clone(),
            ),
            Status::Unknown => (
                "warning",
                format!("deadbolt {} ({sev}, unknown)", f.policy),
                f.message.clone(),
            ),
            Status::Skipped => (
                "notice",
                format!("deadbolt {} ({sev}, skipped)", f.policy),
                format!(
                    "skipped: {} — {}",
                    f.skip_reason.as_deref().unwrap_or("no reason given"),
                    f.message
                ),
            ),
        };
        push(
            &mut out, command, &f.file, f.line, f.column, &title, &message,
        );
    }
    out
}

fn push(out: &mut String, command: &str, file: &str, line: u32, col: u32, title: &str, msg: &str) {
    out.push_str("::");
    out.push_str(command);
    out.push_str(" file=");
    out.push_str(&escape_property(&file.replace('\\', "/")));
    if line > 0 {
        out.push_str(&format!(",line={line}"));
        if col > 0 {
            out.push_str(&format!(",col={col}"));
        }
    }
    out.push_str(",title=");
    out.push_str(&escape_property(title));
    out.push_str("::");
    out.push_str(&escape_data(msg));
    out.push('\n');
}

/// Escapes a workflow command's message: `%`, `\r` and `\n` as the runner
/// expects, and every other control character (ESC, BEL, ...) and bidi override
/// visibly, so a value from a template cannot drive the terminal reading the log.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            '\t' => out.push('\t'),
            c => out.push_str(&escape_control(c.encode_utf8(&mut buf))),
        }
    }
    out
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("50%\r\nnext: a,b"), "50%25%0D%0Anext: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        // Found by the fuzz corpus (tests/fuzz_corpus.rs): raw controls in a value.
        assert_eq!(
            escape_data("x\u{1b}[31m\u{7}\t\u{202e}y"),
            "x\\e[31m\\u{7}\t\\u{202e}y"
        );
    }
}
