//! What a file named on the command line looks like when deadbolt cannot scan it,
//! and what to do about it. A CI gate that silently skips the plan it was given
//! would pass on nothing; these messages turn that into an error a user can act on.

use crate::doc::Value;

const PLAN_HINT: &str =
    "run `terraform plan -out plan.out && terraform show -json plan.out > plan.json` and scan plan.json";

/// A zip archive: Terraform's binary plan files (`plan.out`, `tfplan`) are zips.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The message for a binary file named on the command line.
pub fn binary_message(bytes: &[u8], detail: &str) -> String {
    if is_zip(bytes) {
        return format!(
            "binary file: a zip archive, as Terraform writes binary plan files; deadbolt reads the JSON form: {PLAN_HINT}"
        );
    }
    if bytes.starts_with(b"PAR1") {
        return "an Apache Parquet file (as VPC Flow Logs can be delivered to S3): deadbolt reads flow logs in the text format, the default for S3 and CloudWatch Logs delivery; deliver the logs as text or convert the file".to_string();
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return "gzip-compressed file: decompress it first (e.g. `gunzip -k FILE`), or pass the template itself".to_string();
    }
    format!("binary file, expected a JSON or YAML template or a Terraform plan in JSON{detail}")
}

/// The message for a Terraform configuration file (HCL), which is not read.
pub fn hcl_message() -> String {
    format!("Terraform configuration (HCL) is not read directly; {PLAN_HINT}")
}

/// Why a parsed file holds nothing to scan, with a hint when it looks like
/// something deadbolt can read in another form.
pub fn describe_non_template(docs: &[Value], text: &str) -> String {
    if text.trim().is_empty() {
        return "empty file, expected a CloudFormation template or a Terraform plan (`terraform show -json`)".to_string();
    }
    let Some(first) = docs
        .iter()
        .find(|d| !matches!(d.node, crate::doc::Node::Null))
    else {
        return "no content (only comments or empty documents), expected a CloudFormation template or a Terraform plan".to_string();
    };
    if looks_like_state(first) {
        return format!("this is Terraform state, not a plan; {PLAN_HINT}");
    }
    let lang = if text.trim_start().starts_with(['{', '[']) {
        "JSON"
    } else {
        "YAML"
    };
    match first.as_map() {
        Some(entries) => {
            let mut keys: Vec<&str> = entries.iter().take(6).map(|e| e.key.as_str()).collect();
            if entries.len() > 6 {
                keys.push("...");
            }
            let mut msg = format!(
                "{lang} with keys {}, but neither a CloudFormation template (no Resources section whose resources have a Type such as AWS::S3::Bucket) nor a Terraform plan (no format_version and planned_values)",
                keys.join(", ")
            );
            if first.get("Resources").is_some() {
                msg.push_str("; its Resources have no Type with `::` — add AWSTemplateFormatVersion if it is a template");
            }
            msg
        }
        None => format!(
            "{lang} {}, expected a CloudFormation template or a Terraform plan (a map at the top)",
            first.kind_name()
        ),
    }
}

/// `terraform.tfstate` (version, lineage, serial) or `terraform show -json` of
/// state (values without planned_values).
fn looks_like_state(v: &Value) -> bool {
    let has = |k: &str| v.get(k).is_some();
    (has("lineage") && has("serial") && has("terraform_version"))
        || (has("format_version") && has("values") && !has("planned_values"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_json;

    #[test]
    fn a_parquet_file_is_named_as_such() {
        let m = binary_message(b"PAR1\x15\x04\x15\x10\x00\x00", "");
        assert!(m.starts_with("an Apache Parquet file"), "{m}");
    }

    #[test]
    fn hints_for_terraform_state_and_plans() {
        let state = r#"{"version": 4, "terraform_version": "1.9.0", "serial": 3, "lineage": "x", "resources": []}"#;
        let d = parse_json(state, "s").unwrap();
        assert!(describe_non_template(&[d], state).starts_with("this is Terraform state"));
        let shown = r#"{"format_version": "1.0", "values": {"root_module": {}}}"#;
        let d = parse_json(shown, "s").unwrap();
        assert!(describe_non_template(&[d], shown).contains("terraform show -json plan.out"));
        assert!(binary_message(b"PK\x03\x04rest", "").contains("zip archive"));
        let other = r#"{"name": "x", "version": "1.0.0"}"#;
        let d = parse_json(other, "s").unwrap();
        assert_eq!(
            describe_non_template(&[d], other),
            "JSON with keys name, version, but neither a CloudFormation template (no Resources section whose resources have a Type such as AWS::S3::Bucket) nor a Terraform plan (no format_version and planned_values)"
        );
        assert!(describe_non_template(&[], "  \n").starts_with("empty file"));
    }
}
