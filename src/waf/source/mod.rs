//! Web ACL sources: CloudFormation templates, Terraform plans and the WAFv2
//! API's JSON, each adapted to the API's shape and compiled by one builder.

mod api;
mod build;
mod cfn;
mod field;
mod refs;
mod statement;
mod terraform;
mod value;

use ipnet::IpNet;

use crate::doc::{Template, TemplateKind};
use crate::waf::acl::WebAcl;
use crate::waf::error::WafError;

pub use build::{CLOUDFRONT_BODY_LIMIT, DEFAULT_IMMUNITY_S, REGIONAL_BODY_LIMIT};
pub use statement::EVALUATION_WINDOWS;

/// Settings that templates do not say.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Account id used in label namespaces (`awswaf:ACCOUNT:webacl:NAME:`) and
    /// for `AWS::AccountId`.
    pub account_id: String,
    /// Value of `AWS::Region`.
    pub region: String,
    /// Addresses standing in for Amazon's (private) IP reputation list.
    pub ip_reputation: Vec<IpNet>,
    /// Overrides the body inspection limit (for regional resources other than
    /// ALB and AppSync, whose limit can be raised to 64 KB).
    pub body_limit: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            ip_reputation: Vec::new(),
            body_limit: None,
        }
    }
}

/// Every web ACL in a file's text: CloudFormation `AWS::WAFv2::WebACL`, Terraform
/// plan `aws_wafv2_web_acl`, or WAFv2 API JSON. The outer error is about the file
/// (unreadable, not one of those formats, no web ACL in it); each web ACL
/// compiles or fails on its own.
pub fn load_web_acls(
    path: &str,
    text: &str,
    opts: &LoadOptions,
) -> Result<Vec<Result<WebAcl, WafError>>, WafError> {
    let templates = crate::load::load_source(path, text)?;
    let mut out = Vec::new();
    if templates.is_empty() {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            let root = crate::load::parse_json(text, path)?;
            if api::looks_like_api(&root) {
                out = api::web_acls(path, &root, opts);
            }
        }
    } else {
        for t in &templates {
            out.extend(web_acls_in_template(t, opts));
        }
    }
    if out.is_empty() {
        return Err(WafError::file(
            path,
            format!(
                "no web ACL found; expected a CloudFormation template with an {}, a Terraform \
                 plan (terraform show -json) with an {}, or the JSON of `aws wafv2 get-web-acl`",
                cfn::WEB_ACL,
                terraform::WEB_ACL
            ),
        ));
    }
    Ok(out)
}

/// Every web ACL of an already loaded template or plan (for the policy
/// language, which has the templates at hand).
pub fn web_acls_in_template(t: &Template, opts: &LoadOptions) -> Vec<Result<WebAcl, WafError>> {
    match t.kind {
        TemplateKind::CloudFormation => cfn::web_acls(t, opts),
        TemplateKind::TerraformPlan => terraform::web_acls(t, opts),
    }
}

/// The one web ACL to evaluate: the only one, or the one whose logical id,
/// address or Name is `name`. Errors list what the file holds.
pub fn select_web_acl(
    path: &str,
    acls: Vec<Result<WebAcl, WafError>>,
    name: Option<&str>,
) -> Result<WebAcl, WafError> {
    let describe = |acls: &[Result<WebAcl, WafError>]| -> String {
        acls.iter()
            .map(|a| match a {
                Ok(a) if a.id != a.name => format!("{} (Name {})", a.id, a.name),
                Ok(a) => a.id.clone(),
                Err(e) => format!("<invalid at line {}>", e.line_no()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => {
            if acls.len() == 1 {
                return acls
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Err(WafError::file(path, "no web ACL found")));
            }
            Err(WafError::file(
                path,
                format!(
                    "the file holds {} web ACLs ({}); choose one with --acl-name",
                    acls.len(),
                    describe(&acls)
                ),
            ))
        }
        Some(n) => {
            let list = describe(&acls);
            let mut first_err = None;
            for a in acls {
                match a {
                    Ok(a) if a.id == n || a.name == n => return Ok(a),
                    Ok(_) => {}
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            // An invalid ACL may be the one asked for: show its error.
            if let Some(e) = first_err {
                return Err(e);
            }
            Err(WafError::file(
                path,
                format!("no web ACL named {n}; the file holds: {list}"),
            ))
        }
    }
}
