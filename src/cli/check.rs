//! `deadbolt check`, `explain` and `list`: the policies themselves.

use std::path::PathBuf;

use clap::Args;

use deadbolt::dsl::Level;

use super::{compile_policies, plural, PolicyArgs, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  deadbolt check                      # the built-in catalogue\n  deadbolt check my-policies/\n  deadbolt check -p team.policy -p shared/"
)]
pub struct CheckArgs {
    /// Policy files or directories (as with --policies). Default: the built-in catalogue.
    #[arg(value_name = "POLICIES")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Exit 1 when there are warnings (an unused `let`, a `when` that is never
    /// true, a `require` that tests nothing); they never change `scan`'s exit code.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  deadbolt list\n  deadbolt list --format json | jq '.[] | select(.severity == \"critical\") | .id'"
)]
pub struct ListArgs {
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Output format: a table, or JSON (id, title, severity, types, controls, file, line).
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: ListFormat,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The policy id.
    pub id: String,
    #[command(flatten)]
    pub policies: PolicyArgs,
}

pub fn run_check(a: CheckArgs) -> u8 {
    let mut paths = a.paths.clone();
    paths.extend(a.policies.policies.iter().cloned());
    let Some(c) = compile_policies(&paths) else {
        return EXIT_ERROR;
    };
    let errors = c
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = c.diagnostics.len() - errors;
    let compiled = format!(
        "{} polic{}{}",
        c.policies.len(),
        if c.policies.len() == 1 { "y" } else { "ies" },
        match c.detections.len() {
            0 => String::new(),
            1 => " and 1 detection".to_string(),
            n => format!(" and {n} detections"),
        }
    );
    if errors > 0 {
        eprintln!(
            "{errors} error{}, {warnings} warning{}; {compiled} compiled",
            plural(errors),
            plural(warnings),
        );
        EXIT_ERROR
    } else if a.deny_warnings && warnings > 0 {
        eprintln!(
            "{warnings} warning{} (--deny-warnings); {compiled} compiled",
            plural(warnings)
        );
        EXIT_FINDINGS
    } else {
        println!(
            "ok: {compiled} compiled, {warnings} warning{}",
            plural(warnings)
        );
        0
    }
}

pub fn run_explain(a: ExplainArgs) -> u8 {
    let Some(c) = compile_policies(&a.policies.policies) else {
        return EXIT_ERROR;
    };
    let doc = if let Some(p) = c.policies.iter().find(|p| p.id == a.id) {
        let mut types: Vec<&str> = p
            .blocks
            .iter()
            .flat_map(|b| b.types.iter().map(|s| s.as_str()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        types.retain(|t| seen.insert(*t));
        Doc {
            id: &p.id,
            title: &p.title,
            severity: p.severity.to_string(),
            applies: format!("applies to:  {}", types.join(", ")),
            controls: &p.controls,
            file: &p.file,
            line: p.line,
            description: &p.description,
            remediation: &p.remediation,
            references: &p.references,
        }
    } else if let Some(d) = c.detections.iter().find(|d| d.id == a.id) {
        Doc {
            id: &d.id,
            title: &d.title,
            severity: format!("{} (GuardDuty {:.1})", d.severity, d.score),
            applies: format!(
                "detects:     {} in {} (GuardDuty finding type {})",
                d.action,
                d.source.describe(),
                d.finding_type
            ),
            controls: &d.controls,
            file: &d.file,
            line: d.line,
            description: &d.description,
            remediation: &d.remediation,
            references: &d.references,
        }
    } else {
        let ids: Vec<&str> = c
            .policies
            .iter()
            .map(|p| p.id.as_str())
            .chain(c.detections.iter().map(|d| d.id.as_str()))
            .collect();
        eprintln!("error: no policy or detection `{}`", a.id);
        if let Some(s) = deadbolt::dsl::diag::did_you_mean(&a.id, ids.iter().copied()) {
            eprintln!("help: did you mean `{s}`?");
        } else {
            eprintln!("help: `deadbolt list` shows every policy and detection");
        }
        return EXIT_ERROR;
    };
    print!("{}", doc.render());
    0
}

/// What `explain` prints, for a policy or a detection.
struct Doc<'a> {
    id: &'a str,
    title: &'a str,
    severity: String,
    applies: String,
    controls: &'a [String],
    file: &'a str,
    line: u32,
    description: &'a str,
    remediation: &'a str,
    references: &'a [String],
}

impl Doc<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("{} — {}\n\n", self.id, self.title));
        out.push_str(&format!("severity:    {}\n", self.severity));
        out.push_str(&format!("{}\n", self.applies));
        if !self.controls.is_empty() {
            out.push_str(&format!("controls:    {}\n", self.controls.join(", ")));
        }
        out.push_str(&format!("defined in:  {}:{}\n", self.file, self.line));
        if !self.description.is_empty() {
            out.push_str(&format!("\n{}\n", self.description));
        }
        if !self.remediation.is_empty() {
            out.push_str(&format!("\nRemediation: {}\n", self.remediation));
        }
        if !self.references.is_empty() {
            out.push_str("\nReferences:\n");
            for r in self.references {
                out.push_str(&format!("  - {r}\n"));
            }
        }
        out
    }
}

pub fn run_list(a: ListArgs) -> u8 {
    let Some(c) = compile_policies(&a.policies.policies) else {
        return EXIT_ERROR;
    };
    match a.format {
        ListFormat::Human => {
            let width = c
                .policies
                .iter()
                .map(|p| p.id.len())
                .chain(c.detections.iter().map(|d| d.id.len()))
                .max()
                .unwrap_or(0);
            for p in &c.policies {
                println!("{:<width$}  {:<8}  {}", p.id, p.severity.as_str(), p.title);
            }
            for d in &c.detections {
                println!(
                    "{:<width$}  {:<8}  {} [detection over {}, {}]",
                    d.id,
                    d.severity.as_str(),
                    d.title,
                    d.source.as_str(),
                    d.finding_type
                );
            }
        }
        ListFormat::Json => {
            let mut list: Vec<serde_json::Value> = c
                .policies
                .iter()
                .map(|p| {
                    let mut types: Vec<&str> = p
                        .blocks
                        .iter()
                        .flat_map(|b| b.types.iter().map(String::as_str))
                        .collect();
                    let mut seen = std::collections::HashSet::new();
                    types.retain(|t| seen.insert(*t));
                    serde_json::json!({
                        "id": p.id, "kind": "policy", "title": p.title, "severity": p.severity,
                        "types": types, "controls": p.controls, "tags": p.tags,
                        "file": p.file, "line": p.line,
                    })
                })
                .collect();
            list.extend(c.detections.iter().map(|d| {
                serde_json::json!({
                    "id": d.id, "kind": "detection", "title": d.title, "severity": d.severity,
                    "guardduty_severity": d.score, "finding_type": d.finding_type,
                    "source": d.source, "controls": d.controls, "tags": d.tags,
                    "file": d.file, "line": d.line,
                })
            }));
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
    }
    if c.has_errors() {
        EXIT_ERROR
    } else {
        0
    }
}
