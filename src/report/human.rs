//! Human output: findings grouped by file, each with the offending source lines
//! (rendered by miette), then a summary.

use std::collections::BTreeMap;
use std::fmt;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::load::LoadError;
use crate::result::{Finding, Status, Summary};
use crate::terminal::{escape_control as esc, BoundedSource};

pub struct HumanOptions {
    pub color: bool,
    /// Also list passing results.
    pub show_passes: bool,
    pub width: usize,
}

/// Renders findings. `source` returns a file's text for snippets (None: no snippet).
pub fn render(
    findings: &[Finding],
    errors: &[LoadError],
    stats: &str,
    opts: &HumanOptions,
    source: &dyn Fn(&str) -> Option<String>,
) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_context_lines(1);
    let paint = |code: &str, s: &str| {
        if opts.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if f.status != Status::Pass || opts.show_passes {
            by_file.entry(&f.file).or_default().push(f);
        }
    }
    let mut out = String::new();
    for (file, list) in &by_file {
        out.push_str(&paint("1;4", &esc(file)));
        out.push('\n');
        // One masked copy and line index per file, shared by its snippets.
        let text = source(file).map(|t| BoundedSource::new(file, &t));
        for f in list {
            let (mark, color) = match f.status {
                Status::Fail => ("✗ fail", "31"),
                Status::Unknown => ("? unknown", "33"),
                Status::Pass => ("✓ pass", "32"),
                Status::Skipped => ("- skipped", "90"),
            };
            out.push_str(&format!(
                "  {} {} {} {} ({}) at {}:{}\n",
                paint(color, mark),
                paint("1", f.severity.as_str()),
                paint("1", &esc(&f.policy)),
                esc(&f.resource),
                esc(&f.resource_type),
                f.line,
                f.column
            ));
            if f.status == Status::Pass {
                continue;
            }
            if f.status == Status::Skipped {
                let reason = f.skip_reason.as_deref().unwrap_or("no reason given");
                out.push_str(&format!(
                    "    {} (skipped: {})\n",
                    esc(&f.message),
                    esc(reason)
                ));
                continue;
            }
            match &text {
                Some(t) if f.line > 0 => {
                    let d = FindingDiag::new(f, t);
                    let mut s = String::new();
                    if handler.render_report(&mut s, &d).is_ok() {
                        for line in s.lines() {
                            out.push_str("    ");
                            out.push_str(line.trim_end());
                            out.push('\n');
                        }
                    }
                }
                _ => out.push_str(&format!("    {}\n", esc(&f.message))),
            }
        }
        out.push('\n');
    }
    let s = Summary::of(findings);
    let headline = format!(
        "{} failed, {} unknown, {} passed",
        s.fail, s.unknown, s.pass
    );
    let colored = if s.fail > 0 {
        paint("1;31", &headline)
    } else if s.unknown > 0 {
        paint("1;33", &headline)
    } else {
        paint("1;32", &headline)
    };
    out.push_str(&format!("{colored} — {stats}\n"));
    if !errors.is_empty() {
        out.push_str(&paint(
            "1;31",
            &format!(
                "{} input error{} (listed on stderr)\n",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    out
}

/// A finding as a miette diagnostic pointing into the template.
struct FindingDiag {
    message: String,
    src: BoundedSource,
    offset: usize,
    len: usize,
    severity: miette::Severity,
    help: String,
}

impl FindingDiag {
    fn new(f: &Finding, src: &BoundedSource) -> Self {
        let (offset, len) = span_at(src, f.line, f.column);
        FindingDiag {
            message: esc(&f.message).into_owned(),
            src: src.clone(),
            offset,
            len,
            severity: if f.status == Status::Fail {
                miette::Severity::Error
            } else {
                miette::Severity::Warning
            },
            help: format!("deadbolt explain {}", esc(&f.policy)),
        }
    }
}

impl fmt::Debug for FindingDiag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for FindingDiag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FindingDiag {}

impl Diagnostic for FindingDiag {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some("here".into()), (self.offset, self.len)),
        )))
    }
}

/// Byte offset of a 1-based (line, column) and the length of the token there
/// (up to the next `:`, `,` or end of line, at most 80 bytes).
fn span_at(src: &BoundedSource, line: u32, col: u32) -> (usize, usize) {
    let text = src.text();
    let offset = src.offset(line, col);
    if offset >= text.len() {
        return (text.len().saturating_sub(1), 0);
    }
    let rest = &text[offset..];
    let mut len = rest
        .find([':', '\n', '\r', ','])
        .unwrap_or(rest.len())
        .clamp(1, 80);
    while !rest.is_char_boundary(len.min(rest.len())) {
        len += 1;
    }
    (offset, len.min(rest.len()))
}
