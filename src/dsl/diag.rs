//! Diagnostics about policies, rendered by miette with the policy's source.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use super::ast::Span;
use crate::terminal::BoundedSource;

/// A policy source: a file on disk or a built-in catalogue entry.
#[derive(Clone, Debug)]
pub struct PolicySource {
    pub name: String,
    pub text: Arc<str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// Longest diagnostic message kept: a message quoting a 200 KB name is no help.
const MAX_MESSAGE: usize = 400;

/// Longest underline drawn under a span.
const MAX_UNDERLINE: usize = 80;

/// One problem in a policy file, with where it is, a help line and a code.
#[derive(Clone, Debug)]
pub struct Diag {
    pub level: Level,
    /// A stable short name, e.g. `unknown-property`.
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub span: Span,
    pub label: String,
    pub extra: Vec<(Span, String)>,
    pub help: Option<String>,
    /// The policy's text with its line index, shared by every diagnostic of the
    /// file; snippets are bounded windows of a line.
    source: BoundedSource,
}

thread_local! {
    /// The bounded source of the file diagnosed last: diagnostics of one file come
    /// together, so indexing each file once keeps thousands of them linear. The
    /// cached `Arc` keeps its address from being reused by another text.
    static LAST_SOURCE: RefCell<Option<(Arc<str>, BoundedSource)>> = const { RefCell::new(None) };
}

fn bounded(src: &PolicySource) -> BoundedSource {
    LAST_SOURCE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((text, b)) = c.as_ref() {
            if Arc::ptr_eq(text, &src.text) {
                return b.clone();
            }
        }
        let b = BoundedSource::new(&src.name, &src.text);
        *c = Some((src.text.clone(), b.clone()));
        b
    })
}

impl Diag {
    pub fn error(
        code: &'static str,
        src: &PolicySource,
        span: Span,
        message: impl Into<String>,
    ) -> Diag {
        Diag {
            level: Level::Error,
            code,
            message: crate::terminal::escape_control(&crate::terminal::clip(
                &message.into(),
                MAX_MESSAGE,
            ))
            .into_owned(),
            file: src.name.clone(),
            span,
            label: String::new(),
            extra: vec![],
            help: None,
            source: bounded(src),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.label = crate::terminal::clip(&label.into(), MAX_MESSAGE).into_owned();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(crate::terminal::clip(&help.into(), MAX_MESSAGE).into_owned());
        self
    }

    pub fn with(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.extra.push((span, label.into()));
        self
    }

    pub fn warning(mut self) -> Diag {
        self.level = Level::Warning;
        self
    }

    /// 1-based line and column of the main span.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.line_col(self.span.start)
    }

    /// `file:line:col: error[code]: message` — for logs and tests.
    pub fn short(&self) -> String {
        let (l, c) = self.line_col();
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let mut s = format!(
            "{}:{l}:{c}: {level}[{}]: {}",
            self.file, self.code, self.message
        );
        if let Some(h) = &self.help {
            s.push_str(&format!(" (help: {h})"));
        }
        s
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("deadbolt::{}", self.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        // An underline longer than a snippet window would be drawn in full.
        let bounded = |s: Span| -> miette::SourceSpan {
            let len = (s.end.saturating_sub(s.start)).min(MAX_UNDERLINE);
            (s.start, self.source.char_floor(s.start + len) - s.start).into()
        };
        let main = LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            bounded(self.span),
        );
        let extra = self
            .extra
            .iter()
            .map(move |(s, l)| LabeledSpan::new_with_span(Some(l.clone()), bounded(*s)));
        Some(Box::new(std::iter::once(main).chain(extra)))
    }
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // No identifier deadbolt knows is this long, and comparing a huge name with
    // every candidate would take quadratic time.
    if name.len() > 256 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        // Jaro-Winkler cannot reach the threshold when one length is more than
        // ten times the other.
        let (short, long) = (name.len().min(c.len()), name.len().max(c.len()));
        if short * 10 < long {
            continue;
        }
        let score = strsim::jaro_winkler(&lower, &c.to_ascii_lowercase());
        if score >= 0.82 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}
