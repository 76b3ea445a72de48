//! The resource types a block selects: CloudFormation and Terraform names,
//! wildcards (`AWS::RDS::*`, `aws_db_*`) and named groups, each checked against
//! the known type lists.

use std::collections::BTreeMap;

use super::{Checker, Sel};
use crate::compile::ir::type_matches;
use crate::dsl::ast::*;
use crate::dsl::diag::Diag;
use crate::schema;

impl Checker<'_, '_> {
    /// The types of a block: its quoted types and its groups.
    pub(super) fn block_types(&mut self, b: &RuleBlock) -> Sel {
        let mut sel = Sel::default();
        for t in &b.types {
            self.resource_type(t, &mut sel);
        }
        for g in &b.groups {
            self.group_ref(g, &mut sel);
        }
        sel
    }

    /// The selected types as written (patterns kept), groups expanded.
    pub(super) fn selected_types(&self, b: &RuleBlock) -> Vec<String> {
        let mut out: Vec<String> = b.types.iter().map(|t| t.value.clone()).collect();
        for g in &b.groups {
            let id = self.prog.units[self.unit].env.get(&g.name);
            if let Some(Item::Types(group)) = id.map(|id| self.prog.item(*id)) {
                out.extend(group.types.iter().map(|t| t.value.clone()));
            }
        }
        out
    }

    pub(super) fn resource_type(&mut self, t: &StrLit, sel: &mut Sel) {
        let name = t.value.as_str();
        if name.contains('*') {
            return self.type_pattern(t, sel);
        }
        if name.contains("::") {
            if name.starts_with("Custom::") || schema::is_known_type(name) {
                push_type(sel, name);
                return;
            }
            let d = Diag::error(
                "unknown-type",
                self.src,
                t.span,
                format!("unknown resource type `{name}`"),
            )
            .label("not a CloudFormation resource type");
            let d = match schema::suggest_type(name) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("CloudFormation types look like `AWS::Service::Resource`; see the AWS resource type reference"),
            };
            self.diags.push(d);
            return;
        }
        if is_tf_shape(name) {
            sel.terraform = true;
            push_tf(sel, name);
            if !schema::terraform::is_known_type(name) {
                // Every `aws_*` type is in the provider schemas; other
                // providers' types (`random_password`) are accepted unless
                // they look like a slip on an AWS one (`asw_s3_bucket`).
                let s = schema::terraform::suggest_type(name);
                let aws = name.starts_with("aws_");
                if aws || s.is_some_and(|s| strsim::levenshtein(name, s) <= 2) {
                    let d = Diag::error(
                        "unknown-type",
                        self.src,
                        t.span,
                        format!("unknown resource type `{name}`"),
                    )
                    .label("not a resource type of the Terraform AWS provider");
                    let help = if schema::terraform::is_data_source(name) {
                        format!("`{name}` is a data source; policies judge managed resources (a plan lists data sources under `mode: data`)")
                    } else if let Some(s) = s {
                        format!("did you mean `{s}`?")
                    } else {
                        let versions = schema::terraform::versions();
                        format!("the AWS provider has no such resource ({versions})")
                    };
                    self.diags.push(d.help(help));
                }
            }
            return;
        }
        let d = Diag::error(
            "unknown-type",
            self.src,
            t.span,
            format!("`{name}` is not a resource type"),
        )
        .label("expected `AWS::Service::Resource` or a Terraform type such as `aws_s3_bucket`");
        let d = match schema::suggest_type(name) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d,
        };
        self.diags.push(d);
    }

    /// `AWS::RDS::*`: every known CloudFormation type it matches (none is an
    /// error); `aws_db_*`: Terraform types (none known is a warning, since the
    /// list of Terraform types deadbolt knows is not complete).
    fn type_pattern(&mut self, t: &StrLit, sel: &mut Sel) {
        let pattern = t.value.as_str();
        if pattern.starts_with("Custom::") {
            return;
        }
        if pattern.contains("::") {
            let matched: Vec<&str> = schema::known_types()
                .iter()
                .copied()
                .filter(|k| type_matches(pattern, k))
                .collect();
            if !matched.is_empty() {
                for m in matched {
                    push_type(sel, m);
                }
                return;
            }
            // Suggest the closest service (`AWS::RSD::*` → `AWS::RDS::*`).
            let prefix = pattern.split('*').next().unwrap_or("");
            let depth = prefix.matches("::").count();
            let mut services: Vec<String> = schema::known_types()
                .iter()
                .filter_map(|k| {
                    let cut: Vec<&str> = k.splitn(depth + 1, "::").collect();
                    (cut.len() > depth).then(|| format!("{}::", cut[..depth].join("::")))
                })
                .collect();
            services.dedup();
            let rest = &pattern[prefix.len()..];
            let d = Diag::error(
                "unknown-type",
                self.src,
                t.span,
                format!("`{pattern}` matches no CloudFormation resource type"),
            )
            .label("no known type matches");
            let d = match schema::suggest_property(services.iter().map(String::as_str), prefix) {
                Some(s) if s != prefix => d.help(format!("did you mean `{s}{rest}`?")),
                _ => d.help("`*` stands for any run of characters, as in `AWS::RDS::*`"),
            };
            self.diags.push(d);
            return;
        }
        if is_tf_shape(&pattern.replace('*', "")) || pattern.starts_with("aws_") {
            sel.terraform = true;
            let matched: Vec<&str> = schema::terraform::known_types()
                .filter(|k| type_matches(pattern, k))
                .collect();
            for m in &matched {
                push_tf(sel, m);
            }
            if matched.is_empty() {
                self.diags.push(
                    Diag::error(
                        "unknown-type",
                        self.src,
                        t.span,
                        format!("`{pattern}` matches no Terraform resource type deadbolt knows"),
                    )
                    .warning()
                    .label("selects whatever types of this name a plan has")
                    .help("check the spelling; Terraform types look like `aws_db_*`"),
                );
            }
            return;
        }
        self.diags.push(
            Diag::error(
                "unknown-type",
                self.src,
                t.span,
                format!("`{pattern}` is not a resource type pattern"),
            )
            .label("expected `AWS::Service::*` or a Terraform pattern such as `aws_db_*`"),
        );
    }

    /// Several blocks may select the same type — every block whose `when`
    /// holds judges the resource — except a block with `each`, whose results
    /// are per item and cannot be joined with another block's.
    pub(super) fn overlapping_each(&mut self, p: &Policy) {
        let mut first: BTreeMap<String, (usize, Span)> = BTreeMap::new();
        let mut clashes = Vec::new();
        for (bi, b) in p.blocks.iter().enumerate() {
            for t in &b.types {
                match first.get(&t.value) {
                    Some((prev_block, prev_span)) if *prev_block != bi => {
                        let each = b.each.is_some() || p.blocks[*prev_block].each.is_some();
                        if each {
                            clashes.push((t.span, *prev_span, t.value.clone()));
                        }
                    }
                    Some(_) => {}
                    None => {
                        first.insert(t.value.clone(), (bi, t.span));
                    }
                }
            }
        }
        for (span, prev, name) in clashes {
            self.diags.push(
                Diag::error(
                    "duplicate-type",
                    self.src,
                    span,
                    format!("`{name}` is selected by a block with `each` and by another block"),
                )
                .with(prev, "also selected here")
                .help("a block with `each` gives one result per item, which cannot be joined with another block's result; select the type once"),
            );
        }
    }
}

fn push_type(sel: &mut Sel, name: &str) {
    let cfn = std::rc::Rc::make_mut(&mut sel.cfn);
    if !cfn.iter().any(|c| c == name) {
        cfn.push(name.to_string());
    }
}

fn push_tf(sel: &mut Sel, name: &str) {
    let tf = std::rc::Rc::make_mut(&mut sel.tf);
    if !tf.iter().any(|c| c == name) {
        tf.push(name.to_string());
    }
}

fn is_tf_shape(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.contains('_')
}
