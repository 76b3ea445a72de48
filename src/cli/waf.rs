//! `deadbolt waf`: evaluate AWS WAFv2 web ACLs against requests.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use deadbolt::waf::decision::Decision;
use deadbolt::waf::report::{changes, hit_table, Change, RuleHits};
use deadbolt::waf::{
    evaluate_corpus, load_web_acls, read_requests, select_web_acl, LoadOptions, Outcome, WafError,
    WebAcl,
};

use super::{plural, EXIT_ERROR, EXIT_FINDINGS};

#[derive(Args)]
pub struct WafArgs {
    #[command(subcommand)]
    pub verb: WafVerb,
}

#[derive(Subcommand)]
pub enum WafVerb {
    /// Evaluate a web ACL against requests, as AWS WAF would.
    #[command(
        after_help = "Requests are JSON lines in the shape of a WAF log's httpRequest:\n  \
{\"id\": \"login-1\", \"timestamp\": 1700000000000, \"clientIp\": \"203.0.113.7\", \"country\": \"US\",\n   \
\"httpMethod\": \"POST\", \"uri\": \"/login\", \"args\": \"next=%2F\",\n   \
\"headers\": [{\"name\": \"User-Agent\", \"value\": \"Mozilla/5.0\"}], \"body\": \"user=bob\"}\n\
Optional: body_base64, labels, tokens ([\"captcha\", \"challenge\"] or {\"captcha\": SOLVE_MS}),\n\
region, forwardedCountry, asn, ja3Fingerprint, ja4Fingerprint, fragment.\n\
WAF log files (plain or .gz) are replayed too; --compare lists the requests whose\n\
decision would change and exits 1 if there are any.\n\n\
Examples:\n  deadbolt waf eval --acl infra/waf.yaml --requests fixtures/waf/requests/mixed.jsonl\n  \
deadbolt waf eval --acl plan.json --acl-name aws_wafv2_web_acl.main --requests waf-log.gz --compare\n  \
deadbolt waf eval --acl acl.json --requests reqs.jsonl --format json > decisions.json"
    )]
    Eval(EvalArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WafFormat {
    Human,
    Json,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The web ACL: a CloudFormation template, a Terraform plan (terraform show
    /// -json), or `aws wafv2 get-web-acl` JSON.
    #[arg(long, value_name = "FILE")]
    pub acl: PathBuf,
    /// Which web ACL, when the file holds several: logical id, address or Name.
    #[arg(long, value_name = "NAME")]
    pub acl_name: Option<String>,
    /// Requests: JSON lines, or a WAF log file (plain or gzip); `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub requests: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: WafFormat,
    /// Compare with the decisions recorded in a WAF log; exit 1 if any changes.
    #[arg(long)]
    pub compare: bool,
    /// Account id for label namespaces (awswaf:ACCOUNT:webacl:NAME:).
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub account: String,
    /// File of CIDRs (one per line) standing in for Amazon's IP reputation list.
    #[arg(long, value_name = "FILE")]
    pub ip_reputation: Option<PathBuf>,
    /// Body inspection limit in bytes (default: 8192 regional, 16384+ CloudFront).
    #[arg(long, value_name = "BYTES")]
    pub body_limit: Option<usize>,
}

pub fn run_waf(a: WafArgs) -> u8 {
    match a.verb {
        WafVerb::Eval(e) => match eval(&e) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
    }
}

fn load_options(a: &EvalArgs) -> Result<LoadOptions, WafError> {
    let mut opts = LoadOptions {
        account_id: a.account.clone(),
        body_limit: a.body_limit,
        ..LoadOptions::default()
    };
    if let Some(p) = &a.ip_reputation {
        let shown = p.to_string_lossy();
        let text = std::fs::read_to_string(p)
            .map_err(|e| WafError::file(&*shown, format!("cannot read: {e}")))?;
        for (i, line) in text.lines().enumerate() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.is_empty() {
                continue;
            }
            let net = t
                .parse::<ipnet::IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    WafError::line(
                        &*shown,
                        (i + 1) as u32,
                        format!("\"{t}\" is not an address or CIDR"),
                    )
                })?;
            opts.ip_reputation.push(net);
        }
    }
    Ok(opts)
}

fn eval(a: &EvalArgs) -> Result<u8, WafError> {
    let opts = load_options(a)?;
    let acl_path = a.acl.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&a.acl)
        .map_err(|e| WafError::file(&acl_path, format!("cannot read: {e}")))?;
    let acls = load_web_acls(&acl_path, &text, &opts)?;
    let acl = select_web_acl(&acl_path, acls, a.acl_name.as_deref())?;
    let (requests, recorded): (Vec<_>, Vec<_>) = read_requests(&a.requests)?
        .into_iter()
        .map(|l| (l.request, l.recorded))
        .unzip();
    let decisions = evaluate_corpus(&acl, &requests);
    let table = hit_table(&acl, &decisions);
    let lines: Vec<u32> = requests.iter().map(|r| r.line).collect();
    drop(requests);
    if a.compare && recorded.iter().all(Option::is_none) {
        return Err(WafError::file(
            a.requests.to_string_lossy(),
            "--compare needs WAF log records (with action and terminatingRuleId); these are plain requests",
        ));
    }
    let changed = if a.compare {
        Some(changes(&decisions, &recorded, &lines))
    } else {
        None
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let res = match a.format {
        WafFormat::Json => write_json(&mut out, &acl, &decisions, &table, changed.as_deref()),
        WafFormat::Human => write_human(&mut out, &acl, &decisions, &table, changed.as_deref()),
    };
    let res = res.and_then(|_| out.flush());
    if let Err(e) = res {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(WafError::file("stdout", format!("cannot write: {e}")));
        }
    }
    Ok(match changed {
        Some(c) if !c.is_empty() => EXIT_FINDINGS,
        _ => 0,
    })
}

fn write_json(
    out: &mut impl Write,
    acl: &WebAcl,
    decisions: &[Decision],
    table: &[RuleHits],
    changed: Option<&[Change]>,
) -> std::io::Result<()> {
    // Streamed, one decision at a time: a log of millions of requests must not
    // be held as one JSON tree.
    let web_acl = json!({
        "name": acl.name,
        "id": acl.id,
        "scope": acl.scope,
        "file": acl.file,
        "line": acl.pos.line,
        "approximations": acl.approximations,
    });
    write!(out, "{{\n\"webAcl\": ")?;
    serde_json::to_writer(&mut *out, &web_acl)?;
    write!(out, ",\n\"decisions\": [")?;
    for (i, d) in decisions.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, d)?;
    }
    write!(out, "\n],\n\"rules\": ")?;
    serde_json::to_writer(&mut *out, table)?;
    write!(out, ",\n\"summary\": ")?;
    serde_json::to_writer(&mut *out, &summary(decisions))?;
    if let Some(c) = changed {
        write!(out, ",\n\"changes\": ")?;
        serde_json::to_writer(&mut *out, c)?;
    }
    writeln!(out, "\n}}")?;
    out.flush()
}

fn summary(decisions: &[Decision]) -> serde_json::Value {
    let n = |o: Outcome| decisions.iter().filter(|d| d.action == o).count();
    json!({
        "requests": decisions.len(),
        "allow": n(Outcome::Allow),
        "block": n(Outcome::Block),
        "captcha": n(Outcome::Captcha),
        "challenge": n(Outcome::Challenge),
        "unknown": n(Outcome::Unknown),
    })
}

/// Text safe for a terminal: control characters escaped, bounded length.
fn safe(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn write_human(
    out: &mut impl Write,
    acl: &WebAcl,
    decisions: &[Decision],
    table: &[RuleHits],
    changed: Option<&[Change]>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "web ACL {} ({}, {}:{}), default action {}",
        safe(&acl.name, 80),
        acl.scope.name(),
        acl.file,
        acl.pos.line,
        acl.default_action.name()
    )?;
    for a in &acl.approximations {
        writeln!(out, "  approximation: {}: {}", a.rule, a.note)?;
    }
    writeln!(out)?;
    for d in decisions {
        write!(
            out,
            "{:<24} {:<9} {}",
            safe(&d.id, 24),
            d.action.name(),
            safe(&d.terminating_rule_id, 60)
        )?;
        if let Some(g) = d
            .rule_group_list
            .iter()
            .find_map(|g| g.terminating_rule.as_ref())
        {
            if d.terminating_rule_id != "Default_Action" {
                write!(out, " > {}", safe(&g.rule_id, 60))?;
            }
        }
        if let Some(m) = d.terminating_rule_match_details.first() {
            write!(
                out,
                "  [{} in {}{}: {}]",
                m.condition_type,
                m.location,
                m.field_name
                    .as_deref()
                    .map(|n| format!(" {}", safe(n, 40)))
                    .unwrap_or_default(),
                safe(&m.matched_data.join(" "), 60)
            )?;
        }
        writeln!(out)?;
        if !d.non_terminating_matching_rules.is_empty() {
            let names: Vec<String> = d
                .non_terminating_matching_rules
                .iter()
                .map(|m| format!("{} ({})", safe(&m.rule_id, 60), m.action.name()))
                .collect();
            writeln!(out, "{:<24}   also matched: {}", "", names.join(", "))?;
        }
        for u in &d.undetermined {
            writeln!(
                out,
                "{:<24}   undetermined: {}: {}",
                "",
                safe(&u.rule_id, 60),
                safe(&u.reason, 200)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "rule hits:")?;
    writeln!(
        out,
        "  {:>8}  {:<40} {:<16} {:>11} {:>8} {:>12}",
        "priority", "rule", "action", "terminating", "counted", "undetermined"
    )?;
    for r in table {
        writeln!(
            out,
            "  {:>8}  {:<40} {:<16} {:>11} {:>8} {:>12}",
            r.priority
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            safe(&r.rule_id, 40),
            r.action,
            r.terminating,
            r.non_terminating,
            r.undetermined
        )?;
    }
    let s = summary(decisions);
    writeln!(
        out,
        "\n{} request{}: {} allowed, {} blocked, {} CAPTCHA, {} challenged, {} unknown",
        decisions.len(),
        plural(decisions.len()),
        s["allow"],
        s["block"],
        s["captcha"],
        s["challenge"],
        s["unknown"]
    )?;
    if let Some(c) = changed {
        writeln!(
            out,
            "\ncompared with the WAF log: {} decision{} would change",
            c.len(),
            plural(c.len())
        )?;
        for ch in c {
            writeln!(
                out,
                "  line {} {}: {} by {} -> {} by {}",
                ch.line,
                safe(&ch.id, 40),
                ch.recorded_action.name(),
                safe(&ch.recorded_rule_id, 60),
                ch.action.name(),
                safe(&ch.terminating_rule_id, 60)
            )?;
        }
    }
    Ok(())
}
