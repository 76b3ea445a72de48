//! CloudFormation templates: recognise them and lift resources, parameters,
//! conditions and mappings out of the parsed document.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::LoadError;
use super::foreach;
use super::LoadOptions;
use crate::doc::{Entry, Node, Parameter, Resource, Source, Template, TemplateKind, Value};

/// Whether a parsed document is a CloudFormation template. Without
/// `AWSTemplateFormatVersion` we need a resource that looks like one (a map with a
/// `Type` such as `AWS::S3::Bucket`), so that other YAML with a `Resources` key is
/// not mistaken for a template; with it, any `Resources` counts, so that mistakes
/// in a real template are reported rather than skipped.
pub fn looks_like_cfn(root: &Value) -> bool {
    let Some(resources) = root.get("Resources") else {
        return false;
    };
    if root.get("AWSTemplateFormatVersion").is_some() {
        return true;
    }
    resources.as_map().is_some_and(|entries| {
        entries.iter().any(|e| {
            e.value
                .get("Type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains("::"))
        })
    })
}

/// Build a [`Template`] from a document that [`looks_like_cfn`]. Errors are the
/// mistakes CloudFormation itself would reject, with their position: a broken
/// section is fatal, a broken resource is recorded in `errors` and the other
/// resources are still scanned.
pub fn cfn_template(
    path: Arc<str>,
    doc_index: usize,
    mut root: Value,
    opts: &LoadOptions,
) -> Result<Template, LoadError> {
    let err = |pos, msg: String| LoadError::at(&*path, pos, msg);
    let unresolved = if foreach::uses_foreach(&root) {
        let known = foreach::Known {
            params: &opts.params,
            defaults: parameter_defaults(&root),
            mappings: root.get("Mappings"),
        };
        let mut expanded = root.clone();
        let un = foreach::expand(&mut expanded, &known, &path)?;
        root = expanded;
        un
    } else {
        Vec::new()
    };
    let Some(root_entries) = root.as_map() else {
        return Err(err(
            root.pos,
            format!(
                "expected the template to be a map with a Resources section, found a {}",
                root.kind_name()
            ),
        ));
    };
    let res_entry = root_entries
        .iter()
        .find(|e| e.key == "Resources")
        .ok_or_else(|| err(root.pos, "template has no Resources section".to_string()))?;
    let Some(res_map) = res_entry.value.as_map() else {
        return Err(err(
            res_entry.value.pos,
            format!(
                "expected Resources to be a map of logical ids to resources, found a {}",
                res_entry.value.kind_name()
            ),
        ));
    };

    let mut resources = Vec::with_capacity(res_map.len());
    let mut errors = Vec::new();
    for r in res_map {
        match cfn_resource(r) {
            Ok(res) => resources.push(res),
            Err((pos, msg)) => errors.push(err(pos, msg)),
        }
    }
    // Loops that could not be expanded: their resources are known only by type.
    for lp in &unresolved {
        for o in &lp.outputs {
            let Some(rtype) = o.value.get("Type").and_then(Value::as_str) else {
                continue;
            };
            resources.push(Resource {
                id: o.key.clone(),
                rtype: rtype.to_string(),
                source: Source::CloudFormation,
                pos: o.key_pos,
                props: None,
                props_pos: o.key_pos,
                metadata: None,
                condition: None,
                module: String::new(),
                deletion_policy: None,
                update_replace_policy: None,
                unknown: Some(lp.reason.clone()),
            });
        }
    }

    let mut parameters = BTreeMap::new();
    if let Some(params) = root.get("Parameters") {
        let Some(entries) = params.as_map() else {
            return Err(err(
                params.pos,
                format!(
                    "expected Parameters to be a map of parameter names to declarations, found a {}",
                    params.kind_name()
                ),
            ));
        };
        for p in entries {
            if !matches!(p.value.node, Node::Map(_)) {
                return Err(err(
                    p.value.pos,
                    format!(
                        "parameter {}: expected a map with a Type, found a {}",
                        p.key,
                        p.value.kind_name()
                    ),
                ));
            }
            parameters.insert(
                p.key.clone(),
                Parameter {
                    name: p.key.clone(),
                    pos: p.key_pos,
                    param_type: p
                        .value
                        .get("Type")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    default: p.value.get("Default").cloned(),
                },
            );
        }
    }

    let mut conditions = BTreeMap::new();
    if let Some(conds) = root.get("Conditions") {
        let Some(entries) = conds.as_map() else {
            return Err(err(
                conds.pos,
                format!(
                    "expected Conditions to be a map of condition names to expressions, found a {}",
                    conds.kind_name()
                ),
            ));
        };
        for c in entries {
            conditions.insert(c.key.clone(), c.value.clone());
        }
    }

    let mappings = match root.get("Mappings") {
        None => None,
        Some(m) if matches!(m.node, Node::Map(_)) => Some(m.clone()),
        Some(m) => {
            return Err(err(
                m.pos,
                format!("expected Mappings to be a map, found a {}", m.kind_name()),
            ))
        }
    };

    Ok(Template {
        path,
        doc_index,
        kind: TemplateKind::CloudFormation,
        resources,
        parameters,
        conditions,
        mappings,
        root,
        errors,
        memo: Default::default(),
    })
}

/// `Default` of each parameter, for loops over parameters at load time.
fn parameter_defaults(root: &Value) -> BTreeMap<String, (Option<String>, Value)> {
    let mut out = BTreeMap::new();
    for p in root
        .get("Parameters")
        .and_then(Value::as_map)
        .unwrap_or(&[])
    {
        let d = p.value.get("Default").and_then(|d| match &d.node {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        });
        out.insert(p.key.clone(), (d, p.value.clone()));
    }
    out
}

/// One entry of `Resources`; `Err` with the position and message of its mistake.
fn cfn_resource(r: &Entry) -> Result<Resource, (crate::doc::Pos, String)> {
    let id = &r.key;
    let Some(body) = r.value.as_map() else {
        return Err((
            r.value.pos,
            format!(
                "resource {id}: expected a map with Type and Properties, found a {}",
                r.value.kind_name()
            ),
        ));
    };
    let field = |name: &str| body.iter().find(|e| e.key == name);
    let rtype = match field("Type") {
        None => {
            return Err((
                r.key_pos,
                format!("resource {id} has no Type; expected e.g. Type: AWS::S3::Bucket"),
            ))
        }
        Some(t) => match t.value.as_str() {
            Some(s) if !s.is_empty() => s.to_string(),
            None if t.value.intrinsic().is_some() => {
                let f = t.value.intrinsic().map_or("", |(f, _)| f);
                let hint = if f.starts_with("Rain::") {
                    " (expand it with `rain pkg` and scan the result)"
                } else {
                    ""
                };
                return Err((
                    t.value.pos,
                    format!("resource {id}: Type is computed by {f}, which deadbolt cannot resolve; expected a resource type string such as AWS::S3::Bucket{hint}"),
                ));
            }
            _ => {
                return Err((
                    t.value.pos,
                    format!(
                        "resource {id}: expected Type to be a resource type string such as AWS::S3::Bucket, found a {}",
                        t.value.kind_name()
                    ),
                ))
            }
        },
    };
    let (props, props_pos) = match field("Properties") {
        None => (None, r.key_pos),
        Some(p) => match &p.value.node {
            Node::Map(_) => (Some(p.value.clone()), p.key_pos),
            // `Properties:` with nothing after it: CloudFormation treats it as {}.
            Node::Null => (
                Some(Value::new(Node::Map(Vec::new()), p.value.pos)),
                p.key_pos,
            ),
            _ => {
                return Err((
                    p.value.pos,
                    format!(
                        "resource {id}: expected Properties to be a map, found a {}",
                        p.value.kind_name()
                    ),
                ))
            }
        },
    };
    let condition = match field("Condition") {
        None => None,
        Some(c) => match c.value.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                return Err((
                    c.value.pos,
                    format!(
                    "resource {id}: expected Condition to be the name of a condition, found a {}",
                    c.value.kind_name()
                ),
                ))
            }
        },
    };
    Ok(Resource {
        id: id.clone(),
        rtype,
        source: Source::CloudFormation,
        pos: r.key_pos,
        props,
        props_pos,
        metadata: field("Metadata").map(|m| m.value.clone()),
        condition,
        module: String::new(),
        deletion_policy: field("DeletionPolicy").cloned(),
        update_replace_policy: field("UpdateReplacePolicy").cloned(),
        unknown: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Pos;
    use crate::load::yaml::parse_yaml;

    fn tpl(src: &str) -> Result<Template, LoadError> {
        let root = parse_yaml(src, "t.yaml").unwrap().remove(0);
        assert!(looks_like_cfn(&root));
        cfn_template(Arc::from("t.yaml"), 0, root, &LoadOptions::default())
    }

    #[test]
    fn recognises_templates() {
        let y = |s: &str| parse_yaml(s, "t").unwrap().remove(0);
        assert!(looks_like_cfn(&y(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        )));
        assert!(looks_like_cfn(&y(
            "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"
        )));
        assert!(!looks_like_cfn(&y("Resources:\n  - a\n")));
        assert!(!looks_like_cfn(&y("Resources:\n  x:\n    Type: thing\n")));
        assert!(!looks_like_cfn(&y("name: x\n")));
        assert!(!looks_like_cfn(&y("- 1\n")));
    }

    #[test]
    fn resources_parameters_conditions() {
        let t = tpl("Parameters:\n  Env:\n    Type: String\n    Default: prod\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nMappings:\n  M: {a: {b: c}}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n    Condition: IsProd\n    Metadata: {note: x}\n  V:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: 10\n").unwrap();
        assert_eq!(t.resources.len(), 2);
        let b = &t.resources[0];
        assert_eq!((b.id.as_str(), b.rtype.as_str()), ("B", "AWS::S3::Bucket"));
        assert_eq!(b.pos, Pos::new(10, 3));
        assert_eq!(b.props_pos, Pos::new(10, 3));
        assert!(b.props.is_none());
        assert_eq!(b.condition.as_deref(), Some("IsProd"));
        assert!(b.metadata.is_some());
        let v = &t.resources[1];
        assert_eq!(v.props_pos, Pos::new(16, 5));
        assert_eq!(
            v.props.as_ref().unwrap().get("Size").unwrap().node,
            Node::Int(10)
        );
        let env = &t.parameters["Env"];
        assert_eq!(env.pos, Pos::new(2, 3));
        assert_eq!(env.param_type.as_deref(), Some("String"));
        assert_eq!(env.default.as_ref().unwrap().as_str(), Some("prod"));
        assert_eq!(t.conditions["IsProd"].intrinsic().unwrap().0, "Fn::Equals");
        assert!(t.mappings.is_some());
        assert_eq!(t.kind, TemplateKind::CloudFormation);
    }

    #[test]
    fn malformed_pieces_are_errors() {
        let e = tpl("AWSTemplateFormatVersion: x\nResources: [a]\n").unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(2, 12)));
        assert!(e.message.contains("Resources to be a map"));
        // A broken resource is an error; the other resources are still loaded.
        let one_error = |src: &str| {
            let t = tpl(src).unwrap();
            assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
            assert_eq!(t.resources.len(), 1, "the good resource is kept");
            t.errors[0].clone()
        };
        let e =
            one_error("Resources:\n  A:\n    Type: AWS::S3::Bucket\n  B:\n    Properties: {}\n");
        assert_eq!(e.pos, Some(Pos::new(4, 3)));
        assert!(e.message.contains("B has no Type"), "{e}");
        let e = one_error("Resources:\n  A:\n    Type: AWS::S3::Bucket\n  B:\n    Type: [x]\n");
        assert_eq!(e.pos, Some(Pos::new(5, 11)));
        let e = one_error(
            "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: [1]\n  C:\n    Type: AWS::S3::Bucket\n",
        );
        assert_eq!(e.pos, Some(Pos::new(4, 17)));
        assert!(e.message.contains("Properties to be a map"));
        let e = one_error("Resources:\n  A:\n    Type: AWS::S3::Bucket\n  B: 5\n");
        assert_eq!(e.pos, Some(Pos::new(4, 6)));
    }
}
