//! Terraform plans (`terraform show -json`): managed resources with their planned
//! values, where values known only after apply become [`Node::Computed`] carrying
//! the resource addresses their configuration expression referenced.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::LoadError;
use crate::doc::{Entry, Node, Pos, Resource, Source, Template, TemplateKind, Value};

/// Most hops followed when resolving `var.x` through module calls and
/// `module.m.out` through module outputs; a sane configuration needs a handful.
pub const MAX_REF_HOPS: usize = 64;

/// Whether a parsed document is a plan from `terraform show -json`.
pub fn looks_like_plan(root: &Value) -> bool {
    root.get("format_version").is_some() && root.get("planned_values").is_some()
}

/// Build a [`Template`] from a plan document.
pub fn plan_template(path: Arc<str>, root: Value) -> Result<Template, LoadError> {
    let err = |pos, msg: String| LoadError::at(&*path, pos, msg);
    let planned = root.get("planned_values").ok_or_else(|| {
        err(
            root.pos,
            "expected a planned_values object in the plan".into(),
        )
    })?;
    if !matches!(planned.node, Node::Map(_)) {
        return Err(err(
            planned.pos,
            format!(
                "expected planned_values to be an object, found a {}",
                planned.kind_name()
            ),
        ));
    }

    let config = ConfigIndex::build(root.get("configuration"));
    let changes = index_changes(root.get("resource_changes"));

    let mut resources = Vec::new();
    if let Some(module) = planned.get("root_module") {
        collect_module(module, "", &mut resources, &path)?;
    }

    for r in &mut resources {
        let (module_names, config_addr) = split_resource_address(&r.id);
        let conf = config.resource(&module_names, &config_addr);
        let expressions = conf.and_then(|c| c.get("expressions"));
        let resolver = Resolver {
            config: &config,
            module_names: &module_names,
            prefix: module_prefix(&r.module),
        };
        let unknown = changes
            .get(r.id.as_str())
            .and_then(|c| c.get("change"))
            .and_then(|c| c.get("after_unknown"));
        let values_pos = r.props_pos;
        let props = r
            .props
            .get_or_insert_with(|| Value::new(Node::Map(Vec::new()), values_pos));
        match unknown {
            Some(u) => mark_unknown(props, u, expressions, &resolver, values_pos),
            None => {
                if let Some(e) = expressions {
                    add_referenced(props, e, &resolver, values_pos);
                }
            }
        }
    }

    Ok(Template {
        path,
        doc_index: 0,
        kind: TemplateKind::TerraformPlan,
        resources,
        parameters: Default::default(),
        conditions: Default::default(),
        mappings: None,
        root,
        errors: Vec::new(),
        memo: Default::default(),
    })
}

/// Managed resources of a `planned_values` module and its children, in order.
fn collect_module(
    module: &Value,
    address: &str,
    out: &mut Vec<Resource>,
    path: &Arc<str>,
) -> Result<(), LoadError> {
    let err = |pos, msg: String| LoadError::at(&**path, pos, msg);
    if let Some(list) = module.get("resources") {
        let Some(items) = list.as_seq() else {
            return Err(err(
                list.pos,
                format!(
                    "expected resources to be a list, found a {}",
                    list.kind_name()
                ),
            ));
        };
        for r in items {
            if !matches!(r.node, Node::Map(_)) {
                return Err(err(
                    r.pos,
                    format!("expected a resource object, found a {}", r.kind_name()),
                ));
            }
            let mode = r.get("mode").and_then(Value::as_str).unwrap_or("managed");
            if mode != "managed" {
                continue;
            }
            let id = r.get("address").and_then(Value::as_str).ok_or_else(|| {
                err(
                    r.pos,
                    "expected the resource to have an \"address\" string".into(),
                )
            })?;
            let rtype = r
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| err(r.pos, format!("resource {id}: expected a \"type\" string")))?;
            let values = r.entry("values");
            // The `"address": ...` line names the resource, so findings about the
            // resource as a whole point there.
            let pos = r.entry("address").map_or(r.pos, |e| e.key_pos);
            out.push(Resource {
                id: id.to_string(),
                rtype: rtype.to_string(),
                source: Source::Terraform,
                pos,
                props: values.map(|e| e.value.clone()),
                props_pos: values.map_or(pos, |e| e.key_pos),
                metadata: None,
                condition: None,
                module: address.to_string(),
                deletion_policy: None,
                update_replace_policy: None,
                unknown: None,
            });
        }
    }
    if let Some(children) = module.get("child_modules").and_then(Value::as_seq) {
        for child in children {
            let addr = child
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or_default();
            collect_module(child, addr, out, path)?;
        }
    }
    Ok(())
}

fn index_changes(changes: Option<&Value>) -> HashMap<&str, &Value> {
    let mut map = HashMap::new();
    for c in changes.and_then(Value::as_seq).unwrap_or_default() {
        if c.get("mode").and_then(Value::as_str).unwrap_or("managed") != "managed" {
            continue;
        }
        if let Some(addr) = c.get("address").and_then(Value::as_str) {
            map.insert(addr, c);
        }
    }
    map
}

/// Split an address at dots that are outside `[...]` and quoted index keys.
fn split_address(addr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in addr.char_indices() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&addr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&addr[start..]);
    out
}

fn strip_index(segment: &str) -> &str {
    segment.split('[').next().unwrap_or(segment)
}

/// `module.a["k"].aws_x.y[0]` → (["a"], "aws_x.y"): the configuration resource an
/// instance was made from.
fn split_resource_address(addr: &str) -> (Vec<String>, String) {
    let segs = split_address(addr);
    let mut i = 0;
    let mut modules = Vec::new();
    while i + 1 < segs.len() && segs[i] == "module" {
        modules.push(strip_index(segs[i + 1]).to_string());
        i += 2;
    }
    let rest: Vec<&str> = segs[i..].iter().map(|s| strip_index(s)).collect();
    (modules, rest.join("."))
}

/// `module.a` → `module.a.`, `` → ``: what qualifies a reference made in a module.
fn module_prefix(module: &str) -> String {
    if module.is_empty() {
        String::new()
    } else {
        format!("{module}.")
    }
}

/// The `configuration` section indexed by module path (module call names).
struct ConfigIndex<'a> {
    modules: HashMap<Vec<String>, ModuleConf<'a>>,
}

#[derive(Default)]
struct ModuleConf<'a> {
    resources: HashMap<&'a str, &'a Value>,
    calls: HashMap<&'a str, &'a Value>,
    outputs: Option<&'a Value>,
}

impl<'a> ConfigIndex<'a> {
    fn build(config: Option<&'a Value>) -> Self {
        let mut index = ConfigIndex {
            modules: HashMap::new(),
        };
        if let Some(root) = config.and_then(|c| c.get("root_module")) {
            index.add(Vec::new(), root);
        }
        index
    }

    fn add(&mut self, path: Vec<String>, module: &'a Value) {
        let mut conf = ModuleConf {
            outputs: module.get("outputs"),
            ..Default::default()
        };
        for r in module
            .get("resources")
            .and_then(Value::as_seq)
            .unwrap_or_default()
        {
            if let Some(addr) = r.get("address").and_then(Value::as_str) {
                conf.resources.insert(addr, r);
            }
        }
        let mut children = Vec::new();
        for call in module
            .get("module_calls")
            .and_then(Value::as_map)
            .unwrap_or_default()
        {
            conf.calls.insert(call.key.as_str(), &call.value);
            if let Some(child) = call.value.get("module") {
                let mut p = path.clone();
                p.push(call.key.clone());
                children.push((p, child));
            }
        }
        self.modules.insert(path, conf);
        for (p, child) in children {
            self.add(p, child);
        }
    }

    fn resource(&self, module: &[String], addr: &str) -> Option<&'a Value> {
        self.modules.get(module)?.resources.get(addr).copied()
    }
}

/// Resolves the `references` of an expression made in one module to resource
/// addresses, following variables up to module calls and outputs down into modules.
struct Resolver<'a, 'c> {
    config: &'c ConfigIndex<'a>,
    module_names: &'c [String],
    /// Instance address prefix of the module (`module.a["k"].`).
    prefix: String,
}

impl Resolver<'_, '_> {
    fn refs(&self, expr: Option<&Value>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = expr {
            let mut budget = MAX_REF_HOPS;
            resolve(
                self.config,
                self.module_names,
                &self.prefix,
                e,
                &mut out,
                &mut budget,
            );
        }
        out
    }
}

fn references(expr: &Value) -> impl Iterator<Item = &str> {
    expr.get("references")
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
}

fn resolve(
    config: &ConfigIndex<'_>,
    module: &[String],
    prefix: &str,
    expr: &Value,
    out: &mut Vec<String>,
    budget: &mut usize,
) {
    for r in references(expr) {
        let segs = split_address(r);
        match segs[0] {
            "var" if segs.len() > 1 && !module.is_empty() => {
                // A module input: follow it to the expression given in the call.
                let (parent, call) = module.split_at(module.len() - 1);
                let arg = config
                    .modules
                    .get(parent)
                    .and_then(|m| m.calls.get(call[0].as_str()))
                    .and_then(|c| c.get("expressions"))
                    .and_then(|e| e.get(strip_index(segs[1])));
                if let Some(arg) = arg {
                    if *budget > 0 {
                        *budget -= 1;
                        let parent_prefix = parent_prefix(prefix);
                        resolve(config, parent, &parent_prefix, arg, out, budget);
                    }
                }
            }
            "module" if segs.len() > 2 => {
                // A module output: follow it into the child module.
                let name = strip_index(segs[1]);
                let mut child = module.to_vec();
                child.push(name.to_string());
                let output = config
                    .modules
                    .get(&child)
                    .and_then(|m| m.outputs)
                    .and_then(|o| o.get(strip_index(segs[2])))
                    .and_then(|o| o.get("expression"));
                if let Some(output) = output {
                    if *budget > 0 {
                        *budget -= 1;
                        let child_prefix = format!("{prefix}{}.{}.", segs[0], segs[1]);
                        resolve(config, &child, &child_prefix, output, out, budget);
                    }
                }
            }
            "var" | "module" | "local" | "data" | "each" | "count" | "path" | "terraform"
            | "self" => {}
            _ if segs.len() >= 2 => {
                let qualified = format!("{prefix}{r}");
                if !out.contains(&qualified) {
                    out.push(qualified);
                }
            }
            _ => {}
        }
    }
}

/// `module.a.module.b.` → `module.a.`.
fn parent_prefix(prefix: &str) -> String {
    let trimmed = prefix.strip_suffix('.').unwrap_or(prefix);
    let segs = split_address(trimmed);
    if segs.len() < 2 {
        return String::new();
    }
    let parent = &segs[..segs.len() - 2];
    if parent.is_empty() {
        String::new()
    } else {
        format!("{}.", parent.join("."))
    }
}

/// An expression object (`references` / `constant_value`) rather than a nested
/// block of attribute expressions.
fn is_expression(v: &Value) -> bool {
    v.get("references").is_some() || v.get("constant_value").is_some()
}

/// The expression for key `k` below `expr`: nested blocks are maps of attribute
/// expressions; inside a single expression (a map attribute) every key shares it.
fn expr_for_key<'v>(expr: Option<&'v Value>, k: &str) -> Option<&'v Value> {
    let e = expr?;
    if is_expression(e) {
        Some(e)
    } else {
        e.get(k)
    }
}

/// The expression for element `i` of a list: the i-th block when there is one,
/// else the first (dynamic blocks have one body for every element).
fn expr_for_index(expr: Option<&Value>, i: usize) -> Option<&Value> {
    let e = expr?;
    match e.as_seq() {
        Some(items) => items.get(i).or_else(|| items.first()),
        None => Some(e),
    }
}

/// Whether an `after_unknown` subtree marks anything as unknown.
fn has_unknown(u: &Value) -> bool {
    match &u.node {
        Node::Bool(b) => *b,
        Node::Map(m) => m.iter().any(|e| has_unknown(&e.value)),
        Node::Seq(s) => s.iter().any(has_unknown),
        _ => false,
    }
}

fn computed(expr: Option<&Value>, resolver: &Resolver<'_, '_>, pos: Pos) -> Value {
    Value::new(
        Node::Computed {
            refs: resolver.refs(expr),
            configured: expr.is_some(),
        },
        pos,
    )
}

/// A value for an attribute absent from `values`, built from its after_unknown.
fn build_unknown(u: &Value, expr: Option<&Value>, resolver: &Resolver<'_, '_>, pos: Pos) -> Value {
    let mut v = match &u.node {
        Node::Map(_) => Value::new(Node::Map(Vec::new()), pos),
        Node::Seq(_) => Value::new(Node::Seq(Vec::new()), pos),
        _ => return computed(expr, resolver, pos),
    };
    mark_unknown(&mut v, u, expr, resolver, pos);
    v
}

/// Overlay `after_unknown` on planned values: `true` leaves become Computed.
fn mark_unknown(
    v: &mut Value,
    u: &Value,
    expr: Option<&Value>,
    resolver: &Resolver<'_, '_>,
    values_pos: Pos,
) {
    match &u.node {
        Node::Bool(true) => *v = computed(expr, resolver, v.pos),
        Node::Map(unknown) => {
            if matches!(v.node, Node::Null) {
                v.node = Node::Map(Vec::new());
            }
            let Node::Map(entries) = &mut v.node else {
                return;
            };
            for ue in unknown {
                if !has_unknown(&ue.value) {
                    continue;
                }
                let sub = expr_for_key(expr, &ue.key);
                match entries.iter_mut().find(|e| e.key == ue.key) {
                    Some(e) => mark_unknown(&mut e.value, &ue.value, sub, resolver, values_pos),
                    None => entries.push(Entry {
                        key: ue.key.clone(),
                        key_pos: values_pos,
                        value: build_unknown(&ue.value, sub, resolver, values_pos),
                    }),
                }
            }
        }
        Node::Seq(unknown) => {
            if matches!(v.node, Node::Null) {
                v.node = Node::Seq(Vec::new());
            }
            let Node::Seq(items) = &mut v.node else {
                return;
            };
            for (i, ui) in unknown.iter().enumerate() {
                if !has_unknown(ui) {
                    continue;
                }
                let sub = expr_for_index(expr, i);
                if i < items.len() {
                    mark_unknown(&mut items[i], ui, sub, resolver, values_pos);
                } else if i == items.len() {
                    items.push(build_unknown(ui, sub, resolver, values_pos));
                }
            }
        }
        _ => {}
    }
}

/// Without `after_unknown`, an attribute missing from `values` whose expression
/// references other resources can only be known after apply.
fn add_referenced(v: &mut Value, expr: &Value, resolver: &Resolver<'_, '_>, values_pos: Pos) {
    let Node::Map(entries) = &mut v.node else {
        return;
    };
    for e in expr.as_map().unwrap_or_default() {
        if is_expression(&e.value) {
            if entries.iter().any(|x| x.key == e.key) {
                continue;
            }
            let refs = resolver.refs(Some(&e.value));
            if !refs.is_empty() {
                entries.push(Entry {
                    key: e.key.clone(),
                    key_pos: values_pos,
                    value: Value::new(
                        Node::Computed {
                            refs,
                            configured: true,
                        },
                        values_pos,
                    ),
                });
            }
        } else if let (Some(blocks), Some(existing)) = (
            e.value.as_seq(),
            entries.iter_mut().find(|x| x.key == e.key),
        ) {
            if let Node::Seq(items) = &mut existing.value.node {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(block) = blocks.get(i).or_else(|| blocks.first()) {
                        add_referenced(item, block, resolver, values_pos);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::json::parse_json;

    #[test]
    fn address_splitting() {
        assert_eq!(
            split_address(r#"module.a["x.y"].aws_s3_bucket.b[0]"#),
            ["module", r#"a["x.y"]"#, "aws_s3_bucket", "b[0]"]
        );
        assert_eq!(
            split_resource_address(r#"module.a["k"].module.b.aws_x.y["z"]"#),
            (
                vec!["a".to_string(), "b".to_string()],
                "aws_x.y".to_string()
            )
        );
        assert_eq!(
            split_resource_address("aws_x.y"),
            (vec![], "aws_x.y".to_string())
        );
        assert_eq!(parent_prefix("module.a.module.b."), "module.a.");
        assert_eq!(parent_prefix("module.a."), "");
    }

    fn plan(src: &str) -> Template {
        let root = parse_json(src, "p.json").unwrap();
        assert!(looks_like_plan(&root));
        plan_template(Arc::from("p.json"), root).unwrap()
    }

    #[test]
    fn unknown_values_become_computed_with_refs() {
        let t = plan(
            r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": [
  {"address": "aws_ebs_volume.v[0]", "mode": "managed", "type": "aws_ebs_volume", "name": "v", "index": 0,
   "values": {"encrypted": true, "tags": null, "ebs": [{"size": 1}]}},
  {"address": "data.aws_region.r", "mode": "data", "type": "aws_region", "name": "r", "values": {}}
]}},
"resource_changes": [{"address": "aws_ebs_volume.v[0]", "mode": "managed", "change": {
   "after_unknown": {"kms_key_id": true, "encrypted": false, "tags": {}, "ebs": [{"id": true}]}}}],
"configuration": {"root_module": {"resources": [{"address": "aws_ebs_volume.v", "mode": "managed",
   "expressions": {"kms_key_id": {"references": ["aws_kms_key.k.arn", "aws_kms_key.k", "var.x", "data.aws_kms_key.d.arn"]},
                   "ebs": [{"id": {"references": ["local.z", "aws_x.y.id"]}}]}}]}}}"#,
        );
        assert_eq!(t.resources.len(), 1);
        let r = &t.resources[0];
        let props = r.props.as_ref().unwrap();
        let kms = props.entry("kms_key_id").unwrap();
        assert_eq!(
            kms.value.node,
            Node::Computed {
                refs: vec!["aws_kms_key.k.arn".into(), "aws_kms_key.k".into()],
                configured: true,
            }
        );
        assert_eq!(kms.key_pos, r.props_pos);
        assert_eq!(props.get("encrypted").unwrap().node, Node::Bool(true));
        assert_eq!(props.get("tags").unwrap().node, Node::Null);
        let ebs = &props.get("ebs").unwrap().as_seq().unwrap()[0];
        assert_eq!(
            ebs.get("id").unwrap().node,
            Node::Computed {
                refs: vec!["aws_x.y.id".into()],
                configured: true,
            }
        );
    }

    #[test]
    fn references_without_after_unknown() {
        let t = plan(
            r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": [
  {"address": "aws_ebs_volume.v", "mode": "managed", "type": "aws_ebs_volume", "name": "v", "values": {"size": 1}}]}},
"configuration": {"root_module": {"resources": [{"address": "aws_ebs_volume.v",
   "expressions": {"kms_key_id": {"references": ["aws_kms_key.k.arn"]}, "size": {"constant_value": 1},
                   "tags": {"references": ["var.tags"]}}}]}}}"#,
        );
        let props = t.resources[0].props.as_ref().unwrap();
        assert_eq!(
            props.get("kms_key_id").unwrap().node,
            Node::Computed {
                refs: vec!["aws_kms_key.k.arn".into()],
                configured: true,
            }
        );
        assert!(props.get("tags").is_none());
        assert_eq!(props.get("size").unwrap().node, Node::Int(1));
    }

    #[test]
    fn variables_and_outputs_resolve_across_modules() {
        let t = plan(
            r#"{"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [
  {"address": "module.m", "resources": [
    {"address": "module.m.aws_ebs_volume.v", "mode": "managed", "type": "aws_ebs_volume", "values": {}}]}]}},
"resource_changes": [{"address": "module.m.aws_ebs_volume.v", "change": {"after_unknown": {"kms_key_id": true, "snapshot_id": true}}}],
"configuration": {"root_module": {
  "resources": [{"address": "aws_kms_key.root"}],
  "module_calls": {
    "m": {"expressions": {"key": {"references": ["module.keys.arn", "module.keys"]}},
          "module": {"resources": [{"address": "aws_ebs_volume.v", "expressions": {
              "kms_key_id": {"references": ["var.key"]},
              "snapshot_id": {"references": ["aws_ebs_snapshot.s.id"]}}}]}},
    "keys": {"module": {"outputs": {"arn": {"expression": {"references": ["aws_kms_key.k.arn", "aws_kms_key.k"]}}},
                        "resources": [{"address": "aws_kms_key.k"}]}}}}}}"#,
        );
        let r = &t.resources[0];
        assert_eq!(r.module, "module.m");
        let props = r.props.as_ref().unwrap();
        assert_eq!(
            props.get("kms_key_id").unwrap().node,
            Node::Computed {
                refs: vec![
                    "module.keys.aws_kms_key.k.arn".into(),
                    "module.keys.aws_kms_key.k".into()
                ],
                configured: true,
            }
        );
        assert_eq!(
            props.get("snapshot_id").unwrap().node,
            Node::Computed {
                refs: vec!["module.m.aws_ebs_snapshot.s.id".into()],
                configured: true,
            }
        );
    }

    #[test]
    fn self_referencing_variables_terminate() {
        // var.a in module m is given var.a of the root: a dead end, not a loop.
        let t = plan(
            r#"{"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [
  {"address": "module.m", "resources": [
    {"address": "module.m.aws_x.v", "mode": "managed", "type": "aws_x", "values": {}}]}]}},
"configuration": {"root_module": {"module_calls": {"m": {"expressions": {"a": {"references": ["var.a"]}},
  "module": {"resources": [{"address": "aws_x.v", "expressions": {"k": {"references": ["var.a"]}}}]}}}}}}"#,
        );
        assert!(t.resources[0].props.as_ref().unwrap().get("k").is_none());
    }

    #[test]
    fn malformed_plan_is_an_error() {
        let root = parse_json(
            r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": [{"mode": "managed"}]}}}"#,
            "p.json",
        )
        .unwrap();
        let e = plan_template(Arc::from("p.json"), root).unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(1, 76)));
        assert!(e.message.contains("address"));
    }
}
