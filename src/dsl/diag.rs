//! Diagnostics about policies, rendered by miette with the policy's source.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use super::ast::Span;

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
    src: Arc<str>,
    named: NamedSource<Arc<str>>,
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
            message: message.into(),
            file: src.name.clone(),
            span,
            label: String::new(),
            extra: vec![],
            help: None,
            src: src.text.clone(),
            named: NamedSource::new(src.name.clone(), src.text.clone()),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
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
        let before = &self.src[..self.span.start.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
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
        Some(&self.named)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let main = LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            self.span,
        );
        let extra = self
            .extra
            .iter()
            .map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), *s));
        Some(Box::new(std::iter::once(main).chain(extra)))
    }
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&lower, &c.to_ascii_lowercase());
        if score >= 0.82 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}
