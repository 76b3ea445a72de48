//! `Fn::ForEach` from the `AWS::LanguageExtensions` transform, expanded as
//! CloudFormation expands it before deploying: each item of the collection
//! stamps out the fragment with the identifier substituted (`${Id}` and `&{Id}`
//! in keys and strings, `Ref: Id` in values). Expanded values keep the
//! positions of the loop body, so findings point into it.
//!
//! A loop whose collection cannot be known statically (a parameter without a
//! default) is not expanded: it is reported back, and its resources are scanned
//! as `unknown` while the rest of the template is scanned as usual.

use std::collections::BTreeMap;

use super::error::LoadError;
use crate::doc::{Entry, Node, Pos, Value};

const PREFIX: &str = "Fn::ForEach::";

/// CloudFormation allows five levels of nested loops; a few more are tolerated.
const MAX_LOOP_DEPTH: usize = 8;

/// Bound on the nodes expansion may create, so nested loops over long lists cannot
/// blow up memory (the same bound as YAML alias expansion).
const MAX_EXPANDED_NODES: usize = 1_000_000;

/// What a loop that could not be expanded would have produced.
#[derive(Clone, Debug)]
pub struct UnresolvedLoop {
    /// `Fn::ForEach::Tables`.
    pub name: String,
    /// The output key as written (`DynamoDB${TableName}`) and the fragment.
    pub outputs: Vec<Entry>,
    pub pos: Pos,
    pub reason: String,
}

/// Parameter values known at load time: `--param` values first, then defaults.
pub struct Known<'a> {
    pub params: &'a BTreeMap<String, String>,
    pub defaults: BTreeMap<String, (Option<String>, Value)>,
    pub mappings: Option<&'a Value>,
}

struct Expander<'a> {
    known: &'a Known<'a>,
    path: &'a str,
    budget: usize,
    unresolved: Vec<UnresolvedLoop>,
}

/// Whether a document uses `Fn::ForEach` anywhere it may appear.
pub fn uses_foreach(root: &Value) -> bool {
    ["Resources", "Outputs", "Conditions"].iter().any(|s| {
        root.get(s).and_then(Value::as_map).is_some_and(|m| {
            m.iter()
                .any(|e| e.key.starts_with(PREFIX) || deep_uses(&e.value, 0))
        })
    })
}

fn deep_uses(v: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match &v.node {
        Node::Map(m) => m
            .iter()
            .any(|e| e.key.starts_with(PREFIX) || deep_uses(&e.value, depth + 1)),
        Node::Seq(s) => s.iter().any(|i| deep_uses(i, depth + 1)),
        _ => false,
    }
}

/// Expands every loop of `Resources`, `Outputs` and `Conditions` in place.
/// Returns the loops of `Resources` whose collection could not be known.
pub fn expand(
    root: &mut Value,
    known: &Known<'_>,
    path: &str,
) -> Result<Vec<UnresolvedLoop>, LoadError> {
    let mut ex = Expander {
        known,
        path,
        budget: MAX_EXPANDED_NODES,
        unresolved: Vec::new(),
    };
    let Node::Map(sections) = &mut root.node else {
        return Ok(Vec::new());
    };
    for section in sections.iter_mut() {
        if !matches!(section.key.as_str(), "Resources" | "Outputs" | "Conditions") {
            continue;
        }
        let top = section.key == "Resources";
        ex.expand_value(&mut section.value, 0, top)?;
    }
    Ok(ex.unresolved)
}

impl Expander<'_> {
    fn err(&self, pos: Pos, msg: impl Into<String>) -> LoadError {
        LoadError::at(self.path, pos, msg)
    }

    /// Expands loops in the maps under `v`. `top` is true for the `Resources` map,
    /// whose unresolved loops are reported (elsewhere they stay unknown values).
    fn expand_value(&mut self, v: &mut Value, depth: usize, top: bool) -> Result<(), LoadError> {
        if depth > 256 {
            return Err(self.err(v.pos, "the template nests too deeply inside Fn::ForEach"));
        }
        match &mut v.node {
            Node::Map(entries) => {
                if entries.iter().any(|e| e.key.starts_with(PREFIX)) {
                    let old = std::mem::take(entries);
                    let mut out = Vec::with_capacity(old.len());
                    for e in old {
                        if e.key.starts_with(PREFIX) {
                            self.expand_loop(e, &mut out, 0, top)?;
                        } else {
                            out.push(e);
                        }
                    }
                    if let Some((i, j)) = super::find_duplicate_key(&out) {
                        return Err(self.err(
                            out[j].key_pos,
                            format!(
                                "Fn::ForEach produces the key {} twice (first at line {})",
                                out[j].key, out[i].key_pos.line
                            ),
                        ));
                    }
                    *entries = out;
                }
                for e in entries.iter_mut() {
                    self.expand_value(&mut e.value, depth + 1, false)?;
                }
            }
            Node::Seq(items) => {
                for i in items.iter_mut() {
                    self.expand_value(i, depth + 1, false)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One `Fn::ForEach::Name: [Identifier, Collection, {OutputKey: OutputValue}]`.
    fn expand_loop(
        &mut self,
        e: Entry,
        out: &mut Vec<Entry>,
        nest: usize,
        top: bool,
    ) -> Result<(), LoadError> {
        if nest > MAX_LOOP_DEPTH {
            return Err(self.err(
                e.key_pos,
                format!("{}: loops nest more than {MAX_LOOP_DEPTH} deep", e.key),
            ));
        }
        let shape = "expected [Identifier, Collection, {OutputKey: OutputValue}]";
        let Node::Seq(parts) = e.value.node else {
            return Err(self.err(
                e.value.pos,
                format!("{}: {shape}, found a {}", e.key, e.value.kind_name()),
            ));
        };
        let [ident, collection, fragment] = <[Value; 3]>::try_from(parts).map_err(|p| {
            self.err(
                e.value.pos,
                format!("{}: {shape}, found {} items", e.key, p.len()),
            )
        })?;
        let Some(ident) = ident.as_str().map(str::to_string) else {
            return Err(self.err(
                ident.pos,
                format!("{}: the identifier must be a string", e.key),
            ));
        };
        let Node::Map(outputs) = fragment.node else {
            return Err(self.err(
                fragment.pos,
                format!(
                    "{}: the fragment must be a map of output keys to values",
                    e.key
                ),
            ));
        };
        for o in &outputs {
            if !o.key.starts_with(PREFIX)
                && !o.key.contains(&format!("${{{ident}}}"))
                && !o.key.contains(&format!("&{{{ident}}}"))
            {
                return Err(self.err(
                    o.key_pos,
                    format!(
                        "{}: the output key {} must contain ${{{ident}}} or &{{{ident}}}, or every item would produce the same key",
                        e.key, o.key
                    ),
                ));
            }
        }
        let items = match self.collection(&collection) {
            Ok(items) => items,
            Err(reason) => {
                if top {
                    self.unresolved.push(UnresolvedLoop {
                        name: e.key.clone(),
                        outputs,
                        pos: e.key_pos,
                        reason: format!("the collection of {} {reason}", e.key),
                    });
                }
                return Ok(());
            }
        };
        for item in &items {
            for o in &outputs {
                let mut value = o.value.clone();
                self.spend(&value)?;
                substitute(&mut value, &ident, item);
                if o.key.starts_with(PREFIX) {
                    // A nested loop: its identifier, collection and fragment were
                    // substituted for this item; expand it in turn.
                    let inner = Entry {
                        key: o.key.clone(),
                        key_pos: o.key_pos,
                        value,
                    };
                    self.expand_loop(inner, out, nest + 1, top)?;
                } else {
                    out.push(Entry {
                        key: substitute_text(&o.key, &ident, item),
                        key_pos: o.key_pos,
                        value,
                    });
                }
            }
        }
        Ok(())
    }

    fn spend(&mut self, v: &Value) -> Result<(), LoadError> {
        let n = count_nodes(v);
        if n > self.budget {
            return Err(self.err(
                v.pos,
                format!("Fn::ForEach expands to more than {MAX_EXPANDED_NODES} values"),
            ));
        }
        self.budget -= n;
        Ok(())
    }

    /// The items of a collection, or why they cannot be known.
    fn collection(&self, c: &Value) -> Result<Vec<String>, String> {
        match &c.node {
            Node::Seq(items) => items.iter().map(|i| self.scalar(i)).collect(),
            Node::Map(_) => match c.intrinsic() {
                Some(("Ref", arg)) => {
                    let name = arg
                        .as_str()
                        .ok_or("is a Ref to something that is not a name")?;
                    let text = self.param_text(name)?;
                    Ok(text.split(',').map(|s| s.trim().to_string()).collect())
                }
                Some(("Fn::Split", arg)) => {
                    let parts = arg
                        .as_seq()
                        .ok_or("is an Fn::Split without [delimiter, string]")?;
                    let [sep, s] = parts else {
                        return Err("is an Fn::Split without [delimiter, string]".into());
                    };
                    let sep = self.scalar(sep)?;
                    let s = self.scalar(s)?;
                    if sep.is_empty() {
                        return Err("is an Fn::Split with an empty delimiter".into());
                    }
                    Ok(s.split(sep.as_str()).map(str::to_string).collect())
                }
                Some(("Fn::FindInMap", arg)) => {
                    let keys = arg
                        .as_seq()
                        .ok_or("is an Fn::FindInMap without [map, key, key]")?;
                    if keys.len() < 3 {
                        return Err("is an Fn::FindInMap without [map, key, key]".into());
                    }
                    let k: Vec<String> = keys[..3]
                        .iter()
                        .map(|k| self.scalar(k))
                        .collect::<Result<_, _>>()?;
                    let found = self
                        .known
                        .mappings
                        .and_then(|m| m.get(&k[0]))
                        .and_then(|m| m.get(&k[1]))
                        .and_then(|m| m.get(&k[2]))
                        .ok_or_else(|| {
                            format!(
                                "names the mapping entry {}/{}/{}, which does not exist",
                                k[0], k[1], k[2]
                            )
                        })?;
                    self.collection(found)
                }
                Some((f, _)) => Err(format!(
                    "uses {f}, whose value is known only at deploy time"
                )),
                None => Err("is a map, not a list".into()),
            },
            _ => Err(format!("is a {}, not a list", c.kind_name())),
        }
    }

    fn scalar(&self, v: &Value) -> Result<String, String> {
        match &v.node {
            Node::Str(s) => Ok(s.clone()),
            Node::Int(i) => Ok(i.to_string()),
            Node::Float(f) => Ok(f.to_string()),
            Node::Bool(b) => Ok(b.to_string()),
            Node::Map(_) => match v.intrinsic() {
                Some(("Ref", arg)) => self.param_text(
                    arg.as_str()
                        .ok_or("holds a Ref to something that is not a name")?,
                ),
                Some((f, _)) => Err(format!(
                    "holds {f}, whose value is known only at deploy time"
                )),
                None => Err("holds a map where a string was expected".into()),
            },
            _ => Err(format!(
                "holds a {} where a string was expected",
                v.kind_name()
            )),
        }
    }

    fn param_text(&self, name: &str) -> Result<String, String> {
        if let Some(v) = self.known.params.get(name) {
            return Ok(v.clone());
        }
        match self.known.defaults.get(name) {
            Some((Some(d), _)) => Ok(d.clone()),
            Some((None, _)) => Err(format!(
                "is parameter {name}, which has no default (set it with --param {name}=A,B,...)"
            )),
            None if name.starts_with("AWS::") => Err(format!(
                "uses pseudo parameter {name}, known only at deploy time"
            )),
            None => Err(format!("is a Ref to {name}, which is not a parameter")),
        }
    }
}

fn count_nodes(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        match &v.node {
            Node::Seq(s) => stack.extend(s.iter()),
            Node::Map(m) => stack.extend(m.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    n
}

/// `${Id}` becomes the item, `&{Id}` the item without its non-alphanumeric
/// characters (for logical ids).
fn substitute_text(s: &str, ident: &str, item: &str) -> String {
    let plain = format!("${{{ident}}}");
    let amp = format!("&{{{ident}}}");
    if !s.contains(&plain) && !s.contains(&amp) {
        return s.to_string();
    }
    let alnum: String = item.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    s.replace(&plain, item).replace(&amp, &alnum)
}

/// Substitutes the identifier throughout a fragment: in keys, in strings, and
/// `Ref: Id` becomes the item itself.
fn substitute(v: &mut Value, ident: &str, item: &str) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let is_ref = matches!(v.intrinsic(), Some(("Ref", arg)) if arg.as_str() == Some(ident));
        if is_ref {
            v.node = Node::Str(item.to_string());
            continue;
        }
        match &mut v.node {
            Node::Str(s) if s.contains('{') => *s = substitute_text(s, ident, item),
            Node::Seq(items) => stack.extend(items.iter_mut()),
            Node::Map(entries) => {
                for e in entries.iter_mut() {
                    if e.key.contains('{') {
                        e.key = substitute_text(&e.key, ident, item);
                    }
                    stack.push(&mut e.value);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse_yaml;

    fn run(src: &str, params: &[(&str, &str)]) -> (Value, Vec<UnresolvedLoop>) {
        let mut root = parse_yaml(src, "t.yaml").unwrap().remove(0);
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut defaults = BTreeMap::new();
        if let Some(ps) = root.get("Parameters").and_then(Value::as_map) {
            for p in ps {
                let d = p
                    .value
                    .get("Default")
                    .and_then(|d| d.as_str())
                    .map(str::to_string);
                defaults.insert(p.key.clone(), (d, p.value.clone()));
            }
        }
        let known = Known {
            params: &params,
            defaults,
            mappings: None,
        };
        let un = expand(&mut root, &known, "t.yaml").unwrap();
        (root, un)
    }

    fn keys(v: &Value, section: &str) -> Vec<String> {
        v.get(section)
            .unwrap()
            .as_map()
            .unwrap()
            .iter()
            .map(|e| e.key.clone())
            .collect()
    }

    #[test]
    fn expands_ids_values_refs_and_alnum_keys() {
        let (root, un) = run(
            "Resources:\n  Fn::ForEach::Tables:\n    - TableName\n    - [Orders, user-events]\n    - DynamoDB&{TableName}:\n        Type: AWS::DynamoDB::Table\n        Properties:\n          TableName: !Ref TableName\n          Description: !Sub 'table ${TableName}'\n",
            &[],
        );
        assert!(un.is_empty());
        assert_eq!(
            keys(&root, "Resources"),
            ["DynamoDBOrders", "DynamoDBuserevents"]
        );
        let t = root
            .get("Resources")
            .unwrap()
            .get("DynamoDBuserevents")
            .unwrap();
        let props = t.get("Properties").unwrap();
        assert_eq!(
            props.get("TableName").unwrap().as_str(),
            Some("user-events")
        );
        assert_eq!(
            props
                .get("Description")
                .unwrap()
                .get("Fn::Sub")
                .unwrap()
                .as_str(),
            Some("table user-events")
        );
        // Positions point into the loop body.
        assert_eq!(
            root.get("Resources").unwrap().as_map().unwrap()[1].key_pos,
            Pos::new(5, 7)
        );
    }

    #[test]
    fn nested_loops_and_parameter_collections() {
        let (root, un) = run(
            "Parameters:\n  Envs:\n    Type: CommaDelimitedList\n    Default: dev,prod\nResources:\n  Fn::ForEach::Outer:\n    - Env\n    - !Ref Envs\n    - Fn::ForEach::Inner:\n        - Kind\n        - [Logs, Data]\n        - ${Env}${Kind}Bucket:\n            Type: AWS::S3::Bucket\n",
            &[],
        );
        assert!(un.is_empty());
        assert_eq!(
            keys(&root, "Resources"),
            [
                "devLogsBucket",
                "devDataBucket",
                "prodLogsBucket",
                "prodDataBucket"
            ]
        );
        let (root, _) = run(
            "Parameters:\n  Envs:\n    Type: CommaDelimitedList\n    Default: dev,prod\nResources:\n  Fn::ForEach::Outer:\n    - Env\n    - !Ref Envs\n    - ${Env}Bucket:\n        Type: AWS::S3::Bucket\n",
            &[("Envs", "qa")],
        );
        assert_eq!(keys(&root, "Resources"), ["qaBucket"]);
    }

    #[test]
    fn unresolved_collections_are_reported_not_expanded() {
        let (root, un) = run(
            "Parameters:\n  Names:\n    Type: CommaDelimitedList\nResources:\n  Other:\n    Type: AWS::S3::Bucket\n  Fn::ForEach::Topics:\n    - N\n    - !Ref Names\n    - Topic${N}:\n        Type: AWS::SNS::Topic\n",
            &[],
        );
        assert_eq!(keys(&root, "Resources"), ["Other"]);
        assert_eq!(un.len(), 1);
        assert_eq!(un[0].name, "Fn::ForEach::Topics");
        assert_eq!(un[0].outputs[0].key, "Topic${N}");
        assert!(
            un[0]
                .reason
                .contains("parameter Names, which has no default"),
            "{}",
            un[0].reason
        );
    }

    #[test]
    fn malformed_loops_are_errors_with_positions() {
        let mut root = parse_yaml(
            "Resources:\n  Fn::ForEach::X:\n    - N\n    - [a]\n",
            "t.yaml",
        )
        .unwrap()
        .remove(0);
        let known = Known {
            params: &BTreeMap::new(),
            defaults: BTreeMap::new(),
            mappings: None,
        };
        let e = expand(&mut root, &known, "t.yaml").unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(3, 5)));
        assert!(e.message.contains("found 2 items"), "{e}");
        let mut root = parse_yaml(
            "Resources:\n  Fn::ForEach::X:\n    - N\n    - [a, b]\n    - Same:\n        Type: AWS::S3::Bucket\n",
            "t.yaml",
        )
        .unwrap()
        .remove(0);
        let e = expand(&mut root, &known, "t.yaml").unwrap_err();
        assert_eq!(e.pos, Some(Pos::new(5, 7)));
    }

    #[test]
    fn expansion_is_bounded() {
        let items: Vec<String> = (0..1200).map(|i| format!("i{i}")).collect();
        let list = items.join(", ");
        let src = format!(
            "Resources:\n  Fn::ForEach::A:\n    - X\n    - [{list}]\n    - Fn::ForEach::B:\n        - Y\n        - [{list}]\n        - R${{X}}${{Y}}:\n            Type: AWS::S3::Bucket\n            Properties: {{A: 1}}\n"
        );
        let mut root = parse_yaml(&src, "t.yaml").unwrap().remove(0);
        let known = Known {
            params: &BTreeMap::new(),
            defaults: BTreeMap::new(),
            mappings: None,
        };
        let e = expand(&mut root, &known, "t.yaml").unwrap_err();
        assert!(e.message.contains("more than 1000000"), "{e}");
    }
}
