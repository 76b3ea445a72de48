//! `secrets.find` and `secrets.entropy`: the policy side of the secret detection
//! engine (`crate::secrets`). The engine judges strings; this walker feeds it the
//! strings a template or plan really contains, knowing what each intrinsic means:
//!
//! - `Fn::Sub`, `Fn::Join`, `Fn::Base64`, `Fn::If` (both branches: the template
//!   holds both), `Fn::ToJsonString` are read as the text they build, with
//!   `${Name}` for the parts known only at deploy time;
//! - `{{resolve:secretsmanager:...}}` / `{{resolve:ssm-secure:...}}` are where the
//!   secret lives, never the secret;
//! - a `Ref` to a `NoEcho` parameter passes (its default, if any, is judged: it is
//!   written in the template); a secret-named key fed by a parameter *without*
//!   `NoEcho` fails, since CloudFormation shows its value in the console and
//!   `DescribeStacks`;
//! - `!GetAtt Key.SecretAccessKey` of an `AWS::IAM::AccessKey` (Terraform:
//!   `aws_iam_access_key.k.secret`) is an AWS secret key copied into plain text;
//! - JSON inside strings (task definitions, `SecretString`) and base64 text
//!   (user data) are read as what they encode;
//! - `{Name, Value}` items (ECS environments, CodeBuild variables, SSM
//!   parameters) judge `Value` by `Name`.

use std::borrow::Cow;
use std::rc::Rc;

use super::context::{scalar_text, Ctx};
use super::value::{It, V};
use crate::doc::{Entry, Node, Pos, TemplateKind, Value};
use crate::secrets::{self, classify, KeyClass};

/// Deepest value nesting the walker follows (templates are bounded already).
const MAX_DEPTH: usize = 64;
/// Longest string scanned (bytes); longer ones are scanned up to this point.
const MAX_TEXT: usize = 1 << 20;

/// One finding with where it is.
struct Found {
    rule: &'static str,
    kind: &'static str,
    key: Option<String>,
    path: String,
    line: Option<usize>,
    redacted: String,
    pos: Pos,
}

struct Walker<'c, 'd> {
    ctx: &'c Ctx<'d>,
    out: Vec<Found>,
    /// Inside JSON parsed from a string, positions are the string's own.
    fixed: Option<Pos>,
    /// Strings read inside strings (JSON, base64, parameter defaults): a
    /// default that names its own parameter cannot make the walk loop.
    nested: usize,
}

/// Most strings read inside strings.
const MAX_NESTED: usize = 16;

/// `base.key`, or `base["key"]` when the key is not a plain name (file paths,
/// `AWS::CloudFormation::Init`), as the policy language writes paths.
fn join_path(base: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (base.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{base}.{key}"),
        (_, false) => format!("{base}[{}]", serde_json::Value::String(key.to_string())),
    }
}

fn index_path(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `Name`/`Value` (or `Key`/`Value`) items: the value is judged by the name.
fn pair(entries: &[Entry]) -> Option<(&Entry, &Entry)> {
    let name = entries
        .iter()
        .find(|e| matches!(e.key.as_str(), "Name" | "name" | "Key" | "key"))?;
    let value = entries
        .iter()
        .find(|e| matches!(e.key.as_str(), "Value" | "value"))?;
    Some((name, value))
}

/// CodeBuild variables of type PARAMETER_STORE / SECRETS_MANAGER hold the name
/// of a secret, not the secret.
fn value_is_a_reference(entries: &[Entry]) -> bool {
    entries.iter().any(|e| {
        matches!(e.key.as_str(), "Type" | "type")
            && e.value.as_str().is_some_and(|t| {
                t.eq_ignore_ascii_case("PARAMETER_STORE")
                    || t.eq_ignore_ascii_case("SECRETS_MANAGER")
            })
    })
}

/// Base64 that decodes to text (user data is often written encoded).
fn decoded_text(s: &str) -> Option<String> {
    use base64::Engine;
    let t = s.trim();
    if t.len() < 24 || !t.len().is_multiple_of(4) || t.contains(char::is_whitespace) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 10 >= text.chars().count() * 9 && text.contains(char::is_whitespace))
        .then_some(text)
}

fn looks_like_json(s: &str) -> bool {
    let t = s.trim_start();
    (t.starts_with('{') || t.starts_with('[')) && s.trim_end().ends_with(['}', ']'])
}

impl<'c, 'd> Walker<'c, 'd> {
    fn full(&self) -> bool {
        self.out.len() >= secrets::MAX_FINDINGS
    }

    fn push(&mut self, mut f: Found) {
        if let Some(p) = self.fixed {
            f.pos = p;
        }
        let dup = self
            .out
            .iter()
            .any(|o| o.rule == f.rule && o.path == f.path && o.line == f.line);
        if !dup && !self.full() {
            self.out.push(f);
        }
    }

    fn cfn(&self) -> bool {
        self.ctx.tpl.kind == TemplateKind::CloudFormation
    }

    /// The parameter's `NoEcho`, read from the template itself.
    fn no_echo(&self, name: &str) -> bool {
        self.ctx
            .tpl
            .root
            .get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("NoEcho"))
            .is_some_and(|v| match &v.node {
                Node::Bool(b) => *b,
                Node::Str(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            })
    }

    /// Whether parameter `name` is declared as something other than a secret:
    /// a number, list or AWS-specific type, an enumeration (AllowedValues), or
    /// the ARN or name of where a secret is kept (an `arn:` pattern, a default
    /// that is a reference, a description that says ARN).
    fn names_no_secret(&self, name: &str) -> bool {
        let Some(p) = self
            .ctx
            .tpl
            .root
            .get("Parameters")
            .and_then(|p| p.get(name))
        else {
            return false;
        };
        let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
        let ptype = text("Type");
        if !(ptype.is_empty() || ptype == "String") || p.get("AllowedValues").is_some() {
            return true;
        }
        let pattern = text("AllowedPattern").to_ascii_lowercase();
        if pattern.trim_start_matches('^').starts_with("arn") {
            return true;
        }
        if self
            .default_text(name)
            .is_some_and(|d| !d.is_empty() && secrets::values::not_a_literal(&d).is_some())
        {
            return true;
        }
        let description = text("Description").to_ascii_lowercase();
        description
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "arn")
    }

    fn default_text(&self, name: &str) -> Option<String> {
        let d = self.ctx.tpl.parameters.get(name)?.default.as_ref()?;
        match &d.node {
            Node::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A value taken from parameter `name`, held under `key`.
    fn value_of_parameter(&mut self, key: Option<&str>, name: &str, path: &str, pos: Pos) {
        let class = key.map(classify).unwrap_or(KeyClass::None);
        let supplied = self.ctx.params.values.contains_key(name);
        if class != KeyClass::None && !self.no_echo(name) && !self.names_no_secret(name) {
            self.push(Found {
                rule: "parameter-without-noecho",
                kind: "secret passed as a parameter without NoEcho",
                key: key.map(str::to_string),
                path: path.to_string(),
                line: None,
                redacted: format!("parameter {name}"),
                pos,
            });
            return;
        }
        // A default is written in the template, NoEcho or not; a value given
        // with --param is not.
        if supplied {
            return;
        }
        if let Some(d) = self.default_text(name) {
            let path = format!("{path} (default of parameter {name})");
            self.scan_str(key, &d, &path, pos);
        }
    }

    /// `${Name}` under a secret's name: a parameter, or an IAM secret key.
    fn placeholder(&mut self, key: &str, name: &str, path: &str, line: Option<usize>, pos: Pos) {
        if self.ctx.tpl.parameters.contains_key(name) {
            let before = self.out.len();
            self.value_of_parameter(Some(key), name, path, pos);
            for f in &mut self.out[before..] {
                f.line = f.line.or(line);
            }
            return;
        }
        if let Some((res, attr)) = name.split_once('.') {
            self.get_att(Some(key), res, attr, path, line, pos);
        }
    }

    fn get_att(
        &mut self,
        key: Option<&str>,
        res: &str,
        attr: &str,
        path: &str,
        line: Option<usize>,
        pos: Pos,
    ) {
        let is_access_key = self
            .ctx
            .tpl
            .resources
            .iter()
            .any(|r| r.id == res && r.rtype == "AWS::IAM::AccessKey");
        if is_access_key && attr == "SecretAccessKey" {
            self.push(Found {
                rule: "iam-access-key-secret",
                kind: "AWS secret access key of an IAM access key",
                key: key.map(str::to_string),
                path: path.to_string(),
                line,
                redacted: format!("!GetAtt {res}.SecretAccessKey"),
                pos,
            });
        }
    }

    /// Terraform: a value computed from `aws_iam_access_key.x.secret`.
    fn computed(&mut self, key: Option<&str>, refs: &[String], path: &str, pos: Pos) {
        for r in refs {
            let Some(attr) = r.rsplit('.').next() else {
                continue;
            };
            let is_key = r.split('.').any(|p| p == "aws_iam_access_key");
            if is_key && matches!(attr, "secret" | "ses_smtp_password_v4") {
                self.push(Found {
                    rule: "iam-access-key-secret",
                    kind: "AWS secret access key of an IAM access key",
                    key: key.map(str::to_string),
                    path: path.to_string(),
                    line: None,
                    redacted: r.clone(),
                    pos,
                });
                return;
            }
        }
    }

    /// One string of the document, held under `key`.
    fn scan_str(&mut self, key: Option<&str>, s: &str, path: &str, pos: Pos) {
        if self.full() || self.nested > MAX_NESTED {
            return;
        }
        self.nested += 1;
        self.scan_str_inner(key, s, path, pos);
        self.nested -= 1;
    }

    fn scan_str_inner(&mut self, key: Option<&str>, s: &str, path: &str, pos: Pos) {
        let s = if s.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        } else {
            s
        };
        if looks_like_json(s) {
            if let Ok(doc) = crate::load::parse_json(s, "<string>") {
                let outer = self.fixed.replace(self.fixed.unwrap_or(pos));
                self.walk_plain(&doc, key, path, pos, 0);
                self.fixed = outer;
                return;
            }
        }
        if let Some(text) = decoded_text(s) {
            self.scan_str(key, &text, &format!("{path} (base64)"), pos);
            return;
        }
        let scan = secrets::scan_value(key, s);
        let before = self.out.len();
        for f in scan.findings {
            self.push(Found {
                rule: f.rule,
                kind: f.kind,
                key: f.key,
                path: path.to_string(),
                line: f.line,
                redacted: f.redacted,
                pos,
            });
        }
        for p in scan.placeholders {
            self.placeholder(&p.key, &p.name, path, p.line, pos);
        }
        // In the order of the text, whichever detector found them.
        self.out[before..].sort_by_key(|f| f.line);
    }

    /// Values without intrinsics: parsed JSON, Terraform plans.
    fn walk_plain(&mut self, v: &Value, key: Option<&str>, path: &str, pos: Pos, depth: usize) {
        if depth > MAX_DEPTH || self.full() {
            return;
        }
        match &v.node {
            Node::Str(s) => self.scan_str(key, s, path, pos),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let k = matches!(item.node, Node::Str(_)).then_some(key).flatten();
                    self.walk_plain(item, k, &index_path(path, i), item.pos, depth + 1);
                }
            }
            Node::Map(entries) => self.walk_entries(entries, path, depth, Self::walk_plain),
            Node::Computed { refs, .. } => self.computed(key, refs, path, pos),
            _ => {}
        }
    }

    /// The entries of a map; `{Name, Value}` items judge the value by the name.
    /// `visit` reads each value (with or without intrinsics).
    fn walk_entries<'v>(
        &mut self,
        entries: &'v [Entry],
        path: &str,
        depth: usize,
        visit: fn(&mut Self, &'v Value, Option<&str>, &str, Pos, usize),
    ) {
        let mut skip: Option<*const Entry> = None;
        if let Some((name, value)) = pair(entries) {
            skip = Some(value as *const Entry);
            if !value_is_a_reference(entries) {
                let key = self.key_text(&name.value);
                let p = match &key {
                    Some(k) => format!("{} ({k})", join_path(path, &value.key)),
                    None => join_path(path, &value.key),
                };
                visit(
                    self,
                    &value.value,
                    key.as_deref(),
                    &p,
                    value.key_pos,
                    depth + 1,
                );
            }
        }
        for e in entries {
            if skip == Some(e as *const Entry) {
                continue;
            }
            let p = join_path(path, &e.key);
            visit(self, &e.value, Some(&e.key), &p, e.key_pos, depth + 1);
        }
    }

    /// The text a name is written as (a literal, or a `Fn::Sub` template).
    fn key_text(&self, v: &Value) -> Option<String> {
        match &v.node {
            Node::Str(s) => Some(s.clone()),
            Node::Map(_) if self.cfn() => match v.intrinsic() {
                Some(("Fn::Sub", arg)) => match &arg.node {
                    Node::Str(s) => Some(s.clone()),
                    Node::Seq(items) => items.first().and_then(|t| t.as_str()).map(str::to_string),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// A template value, intrinsics included.
    fn walk_doc(&mut self, v: &'d Value, key: Option<&str>, path: &str, pos: Pos, depth: usize) {
        if depth > MAX_DEPTH || self.full() {
            return;
        }
        match &v.node {
            Node::Str(s) => self.scan_str(key, s, path, pos),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let k = matches!(item.node, Node::Str(_)).then_some(key).flatten();
                    self.walk_doc(item, k, &index_path(path, i), item.pos, depth + 1);
                }
            }
            Node::Map(entries) => match v.intrinsic().filter(|_| self.cfn()) {
                Some((name, arg)) => self.intrinsic(v, name, arg, key, path, pos, depth),
                None => self.walk_entries(entries, path, depth, Self::walk_doc),
            },
            Node::Computed { refs, .. } => self.computed(key, refs, path, pos),
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn intrinsic(
        &mut self,
        whole: &'d Value,
        name: &str,
        arg: &'d Value,
        key: Option<&str>,
        path: &str,
        pos: Pos,
        depth: usize,
    ) {
        match name {
            "Ref" => {
                if let Some(target) = arg.as_str() {
                    if self.ctx.tpl.parameters.contains_key(target) {
                        self.value_of_parameter(key, target, path, pos);
                    }
                }
            }
            "Fn::GetAtt" => {
                let (res, attr) = match &arg.node {
                    Node::Seq(s) => (
                        s.first().and_then(Value::as_str).map(str::to_string),
                        s.get(1).and_then(Value::as_str).map(str::to_string),
                    ),
                    Node::Str(s) => match s.split_once('.') {
                        Some((r, a)) => (Some(r.to_string()), Some(a.to_string())),
                        None => (None, None),
                    },
                    _ => (None, None),
                };
                if let (Some(r), Some(a)) = (res, attr) {
                    self.get_att(key, &r, &a, path, None, pos);
                }
            }
            // The template holds both branches, whichever is deployed.
            "Fn::If" => {
                if let Some(items) = arg.as_seq() {
                    for branch in items.iter().skip(1).take(2) {
                        self.walk_doc(branch, key, path, pos, depth + 1);
                    }
                }
            }
            "Fn::Base64" | "Fn::ToJsonString" => self.walk_doc(arg, key, path, pos, depth + 1),
            "Fn::Sub" | "Fn::Join" => {
                let mut side = Vec::new();
                if let Some(text) = self.assemble(name, arg, depth, &mut side) {
                    self.scan_str(key, &text, path, pos);
                    // An IAM secret key spliced into any text, whatever its name.
                    for (res, attr) in placeholders(&text) {
                        self.get_att(key, res, attr, path, None, pos);
                    }
                }
                // Values that could not be spliced into the text (an `Fn::If`
                // inside a join) are judged on their own.
                for part in side {
                    self.walk_doc(part, key, path, pos, depth + 1);
                }
            }
            // Mappings and selections are in the template: read what they pick.
            "Fn::FindInMap" | "Fn::Select" => {
                let it = self.ctx.resolve_doc(whole, pos);
                if let V::Str(s) = &it.v {
                    let s = s.to_string();
                    self.scan_str(key, &s, path, pos);
                }
            }
            _ => {}
        }
    }

    /// The text an `Fn::Sub` or `Fn::Join` builds, with `${Name}` for every part
    /// known only at deploy time.
    fn assemble(
        &self,
        name: &str,
        arg: &'d Value,
        depth: usize,
        side: &mut Vec<&'d Value>,
    ) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        match name {
            "Fn::Sub" => {
                let (tmpl, vars) = match &arg.node {
                    Node::Str(s) => (s.as_str(), None),
                    Node::Seq(items) if items.len() == 2 => (items[0].as_str()?, items[1].as_map()),
                    _ => return None,
                };
                let Some(vars) = vars else {
                    return Some(tmpl.to_string());
                };
                // Variables of the map become literal text, or `${Ref}` so the
                // placeholder names what it stands for.
                let mut out = String::new();
                let mut rest = tmpl;
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + 2..];
                    let Some(end) = after.find('}') else {
                        out.push_str(&rest[start..]);
                        rest = "";
                        break;
                    };
                    let var = after[..end].trim();
                    match vars.iter().find(|e| e.key == var) {
                        Some(e) => out.push_str(&self.part_text(&e.value, depth, side)),
                        None => {
                            out.push_str("${");
                            out.push_str(var);
                            out.push('}');
                        }
                    }
                    rest = &after[end + 1..];
                }
                out.push_str(rest);
                Some(out)
            }
            "Fn::Join" => {
                let items = arg.as_seq()?;
                let [sep, list] = items else {
                    return None;
                };
                let sep = sep.as_str()?;
                let parts = list.as_seq()?;
                let texts: Vec<String> = parts
                    .iter()
                    .map(|p| self.part_text(p, depth, side))
                    .collect();
                Some(texts.join(sep))
            }
            _ => None,
        }
    }

    fn part_text(&self, v: &'d Value, depth: usize, side: &mut Vec<&'d Value>) -> String {
        match &v.node {
            Node::Str(s) => s.clone(),
            Node::Int(_) | Node::Float(_) | Node::Bool(_) => {
                scalar_text(&self.ctx.resolve_doc(v, v.pos).v).unwrap_or_default()
            }
            Node::Map(_) => match v.intrinsic() {
                Some(("Ref", a)) => format!("${{{}}}", a.as_str().unwrap_or("?")),
                Some(("Fn::GetAtt", a)) => {
                    let text = match &a.node {
                        Node::Seq(s) => s
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("."),
                        Node::Str(s) => s.clone(),
                        _ => "?".into(),
                    };
                    format!("${{{text}}}")
                }
                Some((n @ ("Fn::Sub" | "Fn::Join"), a)) => self
                    .assemble(n, a, depth + 1, side)
                    .unwrap_or_else(|| "${?}".into()),
                Some(("Fn::Base64", a)) => self.part_text(a, depth + 1, side),
                Some(_) => {
                    side.push(v);
                    "${?}".into()
                }
                None => "${?}".into(),
            },
            _ => "${?}".into(),
        }
    }

    /// An evaluation value: a resource, a document value, parsed JSON, a list.
    fn walk_it(&mut self, it: &It<'d>, key: Option<&str>, path: &str, depth: usize) {
        if depth > MAX_DEPTH || self.full() {
            return;
        }
        match &it.v {
            // A resource: its properties, and its Metadata (cfn-init files and
            // commands live there).
            V::Res(i) => {
                let r = &self.ctx.tpl.resources[*i];
                if let Some(entries) = r.props.as_ref().and_then(|p| p.as_map()) {
                    self.walk_entries(entries, path, depth, Self::walk_doc);
                }
                if let Some(m) = &r.metadata {
                    self.walk_doc(m, None, &join_path(path, "Metadata"), m.pos, depth + 1);
                }
            }
            V::Map(entries) => self.walk_entries(entries, path, depth, Self::walk_doc),
            V::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let k = matches!(item.node, Node::Str(_)).then_some(key).flatten();
                    self.walk_doc(item, k, &index_path(path, i), item.pos, depth + 1);
                }
            }
            V::Owned(v) => {
                let v = Rc::clone(v);
                self.walk_plain(&v, key, path, it.pos, depth + 1);
            }
            V::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk_it(item, key, &index_path(path, i), depth + 1);
                }
            }
            V::Str(s) => {
                let s: Cow<'_, str> = s.clone();
                self.scan_str(key, &s, path, it.pos);
            }
            V::Unknown {
                target: Some(t), ..
            } => {
                let r = &self.ctx.tpl.resources[t.res];
                if let Some(attr) = &t.attr {
                    let (id, attr) = (r.id.clone(), attr.clone());
                    if r.rtype == "AWS::IAM::AccessKey" {
                        self.get_att(key, &id, &attr, path, None, it.pos);
                    } else if r.rtype == "aws_iam_access_key" {
                        self.computed(key, &[format!("{id}.{attr}")], path, it.pos);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `${Resource.Attribute}` placeholders of an assembled text.
fn placeholders(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if let Some(pair) = after[..end].split_once('.') {
            out.push(pair);
        }
        rest = &after[end + 1..];
    }
    out
}

fn text_value(s: &str, pos: Pos) -> Value {
    Value::new(Node::Str(s.to_string()), pos)
}

fn finding_map(f: &Found) -> It<'static> {
    let pos = f.pos;
    let entry = |key: &str, value: Value| Entry {
        key: key.to_string(),
        key_pos: pos,
        value,
    };
    let location = match f.line {
        Some(n) if f.path.is_empty() => format!("line {n}"),
        // `UserData (base64)` → `UserData (base64, line 3)`
        Some(n) if f.path.ends_with(')') => format!("{}, line {n})", &f.path[..f.path.len() - 1]),
        Some(n) => format!("{} (line {n})", f.path),
        None if f.path.is_empty() => "the value".to_string(),
        None => f.path.clone(),
    };
    let mut entries = vec![
        entry("rule", text_value(f.rule, pos)),
        entry("kind", text_value(f.kind, pos)),
        entry("path", text_value(&f.path, pos)),
        entry("location", text_value(&location, pos)),
        entry("redacted", text_value(&f.redacted, pos)),
    ];
    if let Some(k) = &f.key {
        entries.push(entry("key", text_value(k, pos)));
    }
    if let Some(n) = f.line {
        entries.push(entry("line", Value::new(Node::Int(n as i64), pos)));
    }
    It::new(V::Owned(Rc::new(Value::new(Node::Map(entries), pos))), pos)
}

/// `secrets.find(x)` / `secrets.find(x, name)`: the secrets kept in plain text in
/// `x` (a resource, a property, a string), as a list of maps with `rule`, `kind`,
/// `key`, `path`, `line`, `location` and `redacted`. The list sits at the first
/// finding, so a failed `require` points at it.
pub fn find<'d>(ctx: &Ctx<'d>, args: &[It<'d>], pos: Pos) -> It<'d> {
    let name: Option<String> = args.get(1).and_then(|a| match &a.v {
        V::Str(s) => Some(s.to_string()),
        V::Unknown { shape: Some(t), .. } => Some(t.to_string()),
        _ => None,
    });
    let mut w = Walker {
        ctx,
        out: Vec::new(),
        fixed: None,
        nested: 0,
    };
    if let Some(x) = args.first() {
        w.walk_it(x, name.as_deref(), "", 0);
    }
    let at = w.out.first().map(|f| f.pos).unwrap_or(pos);
    let items = w.out.iter().map(finding_map).collect();
    It::list(items, at)
}

/// `secrets.entropy(s)`: Shannon entropy of a string, bits per character.
pub fn entropy<'d>(arg: &It<'d>, pos: Pos) -> It<'d> {
    match scalar_text(&arg.v) {
        Some(s) => It::new(V::Num(secrets::entropy::shannon(&s)), pos),
        None => It::missing(pos),
    }
}
