//! YAML loader: every document of a stream, built from saphyr-parser events.
//!
//! We build values from the pull API (`Parser::next_event`) with our own explicit
//! stack rather than saphyr's `load`, because `load` recurses once per nesting level
//! and would overflow the thread stack on hostile input; the event pull itself is a
//! state machine and does not recurse. saphyr's scanner also caps flow nesting
//! (`[[[`/`{{{`) at 255 levels on its own, which we report as a depth error.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};

use super::error::LoadError;
use super::find_duplicate_key;
use crate::doc::{Entry, Node, Pos, Value};

/// Deepest nesting of collections accepted. CloudFormation templates rarely go
/// beyond 15; the bound exists so later recursive passes (clone, drop, evaluation)
/// cannot overflow the stack.
pub const MAX_YAML_DEPTH: usize = 256;

/// Most nodes that aliases may copy into one document. Real templates that use
/// anchors copy a few hundred nodes; a "billion laughs" document needs millions.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Most nodes one document may hold once aliases are expanded. Checked whenever an
/// alias is expanded, so a document without aliases is only bounded by its size.
pub const MAX_DOC_NODES: usize = 1_000_000;

const TAB_MESSAGE: &str = "tab character used for indentation; YAML indentation must use spaces";

/// How plain scalars are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2 core schema: only `true`/`false` are booleans. For deadbolt's own
    /// files (tests, waivers, samples).
    Core,
    /// CloudFormation reads templates as YAML 1.1: unquoted `yes`, `no`, `on`,
    /// `off`, `y` and `n` (any case) are booleans too.
    Yaml11,
}

/// Most quoted scalars whose continuation lines are re-indented before giving up.
const MAX_REINDENTS: usize = 64;

/// Re-indented text may grow to twice the input plus this many bytes.
const MAX_REINDENT_GROWTH: usize = 64 << 10;

/// Parse every document of a YAML stream (core schema). A leading UTF-8 BOM is
/// ignored.
pub fn parse_yaml(src: &str, path: &str) -> Result<Vec<Value>, LoadError> {
    parse_yaml_with(src, path, Schema::Core)
}

/// Parse every document of a YAML stream with the given schema.
///
/// YAML 1.1 parsers (PyYAML, SnakeYAML, and CloudFormation's) accept continuation
/// lines of a multi-line quoted scalar that are indented less than the mapping
/// that holds it; YAML 1.2 parsers refuse them. Such lines are re-indented (which
/// does not change the scalar's folded value, nor any line number) and the text is
/// parsed again.
pub fn parse_yaml_with(src: &str, path: &str, schema: Schema) -> Result<Vec<Value>, LoadError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut text = std::borrow::Cow::Borrowed(src);
    let mut fixes = 0;
    let max_len = src
        .len()
        .saturating_mul(2)
        .saturating_add(MAX_REINDENT_GROWTH);
    loop {
        match parse_once(&text, path, schema) {
            Ok(docs) => return Ok(docs),
            Err((e, Some(start))) if fixes < MAX_REINDENTS => match reindent_quoted(&text, start) {
                // Re-indenting adds bytes to every continuation line; past a
                // bound the input is hostile, not a YAML 1.1 template.
                Some(fixed) if fixed.len() <= max_len => {
                    text = std::borrow::Cow::Owned(fixed);
                    fixes += 1;
                }
                _ => return Err(e),
            },
            Err((e, _)) => return Err(e),
        }
    }
}

/// One parse; on an under-indented quoted scalar, also the byte offset where the
/// scalar starts.
fn parse_once(
    src: &str,
    path: &str,
    schema: Schema,
) -> Result<Vec<Value>, (LoadError, Option<usize>)> {
    let mut builder = Builder::new(src, path, schema);
    let mut parser = Parser::new_from_str(src);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(x) => x,
            Err(e) => {
                let start = (e.info() == "invalid indentation in quoted scalar")
                    .then(|| builder.offset(e.marker().line(), e.marker().col()));
                return Err((builder.scan_error(&e), start));
            }
        };
        if builder.event(event, span).map_err(|e| (e, None))? {
            break;
        }
    }
    Ok(builder.docs)
}

/// Indents every continuation line of the quoted scalar starting at byte `start`
/// one column deeper than the node that holds it (the first character of its
/// line after the indentation and any `- ` / `? ` indicators), so each is
/// deeper than the enclosing block. Not by the quote's own column: in
/// `k:<10,000 spaces>"...` that would add 10,000 bytes to every line.
fn reindent_quoted(src: &str, start: usize) -> Option<String> {
    let quote = *src.as_bytes().get(start)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = &src.as_bytes()[line_start..start];
    let mut node = 0;
    while node < line.len() {
        match line[node] {
            b' ' => node += 1,
            b'-' | b'?' if line.get(node + 1) == Some(&b' ') => node += 2,
            _ => break,
        }
    }
    // Only ASCII was skipped, so `node` bytes are `node` columns.
    let pad = " ".repeat(node + 1);
    let bytes = src.as_bytes();
    let mut i = start + 1;
    let mut end = None;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => {
                end = Some(i);
                break;
            }
            _ => i += 1,
        }
    }
    let end = end?;
    let mut out = String::with_capacity(src.len() + pad.len() * 4);
    out.push_str(&src[..start]);
    for (k, piece) in src[start..end].split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(piece);
    }
    out.push_str(&src[end..]);
    Some(out)
}

/// The CloudFormation long-form name for a short-form tag (`!Ref` → `Ref`).
fn cfn_function(tag: &Tag) -> Option<&'static str> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "GetAtt" => "Fn::GetAtt",
        "Sub" => "Fn::Sub",
        "If" => "Fn::If",
        "Equals" => "Fn::Equals",
        "Join" => "Fn::Join",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "FindInMap" => "Fn::FindInMap",
        "ImportValue" => "Fn::ImportValue",
        "Base64" => "Fn::Base64",
        "GetAZs" => "Fn::GetAZs",
        "Cidr" => "Fn::Cidr",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "Not" => "Fn::Not",
        "Transform" => "Fn::Transform",
        "ToJsonString" => "Fn::ToJsonString",
        "Length" => "Fn::Length",
        _ => return None,
    })
}

/// Type a plain scalar with the YAML 1.2 core schema.
pub(crate) fn resolve_plain(text: &str) -> Node {
    resolve_plain_with(text, Schema::Core)
}

/// Type a plain scalar; YAML 1.1 adds `yes/no/on/off/y/n` booleans.
fn resolve_plain_with(text: &str, schema: Schema) -> Node {
    if schema == Schema::Yaml11 && text.len() <= 3 {
        match text.to_ascii_lowercase().as_str() {
            "yes" | "on" | "y" => return Node::Bool(true),
            "no" | "off" | "n" => return Node::Bool(false),
            _ => {}
        }
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return n;
    }
    if is_core_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Node::Float(f);
        }
    }
    Node::Str(text.to_string())
}

/// Core-schema integers: decimal (too large for i64 → float), `0o` octal, `0x` hex.
fn resolve_int(text: &str) -> Option<Node> {
    let b = text.as_bytes();
    if let Some(hex) = text.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return i64::from_str_radix(hex, 16).ok().map(Node::Int);
        }
        return None;
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if !oct.is_empty() && oct.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
            return i64::from_str_radix(oct, 8).ok().map(Node::Int);
        }
        return None;
    }
    let digits = match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match text.parse::<i64>() {
        Ok(i) => Some(Node::Int(i)),
        Err(_) => text.parse::<f64>().ok().map(Node::Float),
    }
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// Type a scalar carrying an explicit core-schema tag (`!!str`, `!!int`, ...).
fn resolve_core_tagged(suffix: &str, text: &str) -> Node {
    match suffix {
        "null" | "bool" | "int" | "float" => match resolve_plain(text) {
            n @ Node::Null if suffix == "null" => n,
            n @ Node::Bool(_) if suffix == "bool" => n,
            n @ Node::Int(_) if suffix == "int" => n,
            Node::Int(i) if suffix == "float" => Node::Float(i as f64),
            n @ Node::Float(_) if suffix == "float" => n,
            _ => Node::Str(text.to_string()),
        },
        _ => Node::Str(text.to_string()),
    }
}

fn marker_pos(m: &Marker) -> Pos {
    Pos::new(to_u32(m.line()), to_u32(m.col().saturating_add(1)))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Anchor, tag and position of a node being built.
struct Props {
    anchor: usize,
    tag: Option<Tag>,
    /// Where the node starts, including its tag/anchor: the position given to a
    /// normalised intrinsic (`!Ref X` → the `Ref` key sits at the `!`).
    start: Pos,
    /// Where the node's content starts (after any tag/anchor).
    content: Pos,
}

struct Key {
    text: String,
    pos: Pos,
    /// A plain `<<`: a merge key, not a literal key.
    merge: bool,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        props: Props,
        nodes_at_start: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<Key>,
        /// `<<` values with the index in `entries` where they were written.
        merges: Vec<(usize, Value)>,
        props: Props,
        nodes_at_start: usize,
    },
}

struct Anchored {
    value: Value,
    nodes: usize,
    /// Source text of a scalar, so an alias used as a key keeps its spelling.
    raw: Option<String>,
}

struct Builder<'s> {
    src: &'s str,
    path: &'s str,
    /// Byte offset of the start of each line, built on first need.
    line_starts: Option<Vec<usize>>,
    docs: Vec<Value>,
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    alias_nodes: usize,
    anchored_nodes: usize,
    schema: Schema,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str, path: &'s str, schema: Schema) -> Self {
        Builder {
            schema,
            src,
            path,
            line_starts: None,
            docs: Vec::new(),
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            nodes: 0,
            alias_nodes: 0,
            anchored_nodes: 0,
        }
    }

    fn err(&self, pos: Pos, message: impl Into<String>) -> LoadError {
        LoadError::at(self.path, pos, message)
    }

    /// Handle one event; `Ok(true)` at the end of the stream.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<bool, LoadError> {
        let is_seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.stack.clear();
                self.root = None;
                self.nodes = 0;
                self.alias_nodes = 0;
                self.anchored_nodes = 0;
            }
            Event::DocumentEnd => {
                let root = self
                    .root
                    .take()
                    .unwrap_or_else(|| Value::new(Node::Null, marker_pos(&span.start)));
                self.docs.push(root);
            }
            Event::Alias(id) => self.alias(id, span)?,
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(&text, style, anchor, tag.map(|t| t.into_owned()), span)?
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|t| t.into_owned());
                let props = self.props(anchor, tag, span);
                if self.awaiting_key() {
                    return Err(self.err(
                        props.start,
                        "a list or map used as a mapping key is not supported; keys must be scalars",
                    ));
                }
                if self.stack.len() >= MAX_YAML_DEPTH {
                    return Err(self.err(
                        props.start,
                        format!("nesting deeper than {MAX_YAML_DEPTH} levels"),
                    ));
                }
                self.nodes += 1;
                let nodes_at_start = self.nodes;
                self.stack.push(if is_seq {
                    Frame::Seq {
                        items: Vec::new(),
                        props,
                        nodes_at_start,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        merges: Vec::new(),
                        props,
                        nodes_at_start,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = match self.stack.pop() {
                    Some(f) => f,
                    None => return Ok(false),
                };
                let (node, props, nodes_at_start) = match frame {
                    Frame::Seq {
                        items,
                        props,
                        nodes_at_start,
                    } => (Node::Seq(items), props, nodes_at_start),
                    Frame::Map {
                        entries,
                        merges,
                        props,
                        nodes_at_start,
                        ..
                    } => (
                        Node::Map(self.finish_map(entries, merges)?),
                        props,
                        nodes_at_start,
                    ),
                };
                let value = Value::new(node, props.content);
                let value = self.apply_tag(value, &props, None);
                let nodes = self.nodes + 1 - nodes_at_start;
                self.register(props.anchor, &value, nodes, None)?;
                self.complete(value);
            }
        }
        Ok(false)
    }

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn props(&mut self, anchor: usize, tag: Option<Tag>, span: Span) -> Props {
        let start = marker_pos(&span.start);
        let content = if anchor == 0 && tag.is_none() {
            start
        } else {
            self.skip_props(&span.start)
        };
        Props {
            anchor,
            tag,
            start,
            content,
        }
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        span: Span,
    ) -> Result<(), LoadError> {
        let mut props = self.props(anchor, tag, span);
        if text.is_empty() {
            // An empty value's event sits at the next token, often on the next line;
            // the tag, or the key that owns the value, is where a reader looks.
            props.content = props.start;
            if let (Some(Frame::Map { key: Some(k), .. }), None, 0) =
                (self.stack.last(), &props.tag, anchor)
            {
                props.content = k.pos;
                props.start = k.pos;
            }
        }
        let plain = style == ScalarStyle::Plain;
        let node = match &props.tag {
            None if plain => resolve_plain_with(text, self.schema),
            None => Node::Str(text.to_string()),
            Some(t) if t.is_yaml_core_schema() => resolve_core_tagged(&t.suffix, text),
            // `!GetAZs ''` and `!GetAZs` mean the same: the current region.
            Some(t) if cfn_function(t).is_some() && plain && text.is_empty() => {
                Node::Str(String::new())
            }
            Some(_) if plain => resolve_plain_with(text, self.schema),
            Some(_) => Node::Str(text.to_string()),
        };
        if self.awaiting_key() {
            // Keys keep their source text; an anchor on a key still names a value.
            if anchor != 0 {
                let v = Value::new(node, props.content);
                self.register(anchor, &v, 1, Some(text.to_string()))?;
            }
            self.set_key(Key {
                text: text.to_string(),
                pos: props.content,
                merge: plain && text == "<<" && props.tag.is_none(),
            });
            return Ok(());
        }
        self.nodes += 1;
        let value = Value::new(node, props.content);
        let quoted = matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
        let value = self.apply_tag(value, &props, Some(quoted));
        self.register(anchor, &value, 1, Some(text.to_string()))?;
        self.complete(value);
        Ok(())
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), LoadError> {
        let pos = marker_pos(&span.start);
        let Some(anchored) = self.anchors.get(&id) else {
            let name = self.span_text(&span);
            return Err(self.err(
                pos,
                format!(
                    "alias {name} refers to an anchor whose node is not finished yet (an alias cannot point into its own anchor)"
                ),
            ));
        };
        if self.alias_nodes + anchored.nodes > MAX_ALIAS_NODES {
            return Err(self.err(
                pos,
                format!("alias expansion exceeds {MAX_ALIAS_NODES} nodes (possible alias bomb)"),
            ));
        }
        if self.nodes + anchored.nodes > MAX_DOC_NODES {
            return Err(self.err(
                pos,
                format!("alias expansion exceeds {MAX_DOC_NODES} nodes in the document (possible alias bomb)"),
            ));
        }
        if self.awaiting_key() {
            let Some(text) = anchored.raw.clone() else {
                return Err(self.err(
                    pos,
                    "alias to a list or map used as a mapping key; keys must be scalars",
                ));
            };
            // A key is reported where it is written, not where its anchor is.
            self.set_key(Key {
                text,
                pos,
                merge: false,
            });
            return Ok(());
        }
        let value = anchored.value.clone();
        self.nodes += anchored.nodes;
        self.alias_nodes += anchored.nodes;
        self.complete(value);
        Ok(())
    }

    fn set_key(&mut self, k: Key) {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = Some(k);
        }
    }

    /// Remember an anchored value. Each anchor stores a copy, so nested anchors
    /// cost depth × size; that is bounded like alias expansion.
    fn register(
        &mut self,
        anchor: usize,
        value: &Value,
        nodes: usize,
        raw: Option<String>,
    ) -> Result<(), LoadError> {
        if anchor == 0 {
            return Ok(());
        }
        self.anchored_nodes += nodes;
        if self.anchored_nodes > MAX_DOC_NODES {
            return Err(self.err(
                value.pos,
                format!("anchored values hold more than {MAX_DOC_NODES} nodes (too many nested anchors)"),
            ));
        }
        // Keep the raw text only for scalars that were not normalised into a map.
        let raw = match value.node {
            Node::Map(_) | Node::Seq(_) => None,
            _ => raw,
        };
        self.anchors.insert(
            anchor,
            Anchored {
                value: value.clone(),
                nodes,
                raw,
            },
        );
        Ok(())
    }

    /// Attach a finished value to its parent.
    fn complete(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => {
                if let Some(k) = key.take() {
                    if k.merge {
                        merges.push((entries.len(), value));
                    } else {
                        entries.push(Entry {
                            key: k.text,
                            key_pos: k.pos,
                            value,
                        });
                    }
                }
            }
        }
    }

    /// Normalise a CloudFormation short-form tag into its long form. `quoted` is
    /// `Some` for scalars (whether the scalar was quoted, for `!GetAtt` positions).
    fn apply_tag(&mut self, value: Value, props: &Props, quoted: Option<bool>) -> Value {
        let Some(tag) = props.tag.as_ref() else {
            return value;
        };
        let Some(name) = cfn_function(tag) else {
            if tag.is_yaml_core_schema() {
                return value;
            }
            // A tag deadbolt does not know (`!Foo`, `!Rain::Module`) becomes its
            // long form, `{"Fn::Foo": ...}` or `{"Rain::Module": ...}`, so it is
            // reported as an unsupported function rather than silently dropped.
            let key = if tag.handle == "!" && tag.suffix.contains("::") {
                tag.suffix.clone()
            } else if tag.handle == "!" {
                format!("Fn::{}", tag.suffix)
            } else {
                format!("{}{}", tag.handle, tag.suffix)
            };
            self.nodes += 1;
            return Value::new(
                Node::Map(vec![Entry {
                    key,
                    key_pos: props.start,
                    value,
                }]),
                props.start,
            );
        };
        let inner = if name == "Fn::GetAtt" {
            match (&value.node, quoted) {
                (Node::Str(s), Some(q)) => match s.split_once('.') {
                    Some((res, attr)) => {
                        let attr_pos = Pos::new(
                            value.pos.line,
                            value.pos.col + to_u32(res.chars().count() + 1) + u32::from(q),
                        );
                        let first_pos = Pos::new(value.pos.line, value.pos.col + u32::from(q));
                        self.nodes += 2;
                        Value::new(
                            Node::Seq(vec![Value::str(res, first_pos), Value::str(attr, attr_pos)]),
                            value.pos,
                        )
                    }
                    None => value,
                },
                _ => value,
            }
        } else {
            value
        };
        self.nodes += 1;
        Value::new(
            Node::Map(vec![Entry {
                key: name.to_string(),
                key_pos: props.start,
                value: inner,
            }]),
            props.start,
        )
    }

    /// Reject duplicate keys and fold in `<<` merges (explicit keys win, then
    /// earlier merge sources win), placing merged keys where the `<<` was written.
    fn finish_map(
        &self,
        entries: Vec<Entry>,
        merges: Vec<(usize, Value)>,
    ) -> Result<Vec<Entry>, LoadError> {
        if let Some((first, second)) = find_duplicate_key(&entries) {
            let (a, b) = (&entries[first], &entries[second]);
            return Err(self.err(
                b.key_pos,
                format!(
                    "duplicate key '{}' in mapping (first at line {}, again at line {})",
                    b.key, a.key_pos.line, b.key_pos.line
                ),
            ));
        }
        if merges.is_empty() {
            return Ok(entries);
        }
        let explicit: std::collections::HashSet<String> =
            entries.iter().map(|e| e.key.clone()).collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(entries.len());
        let mut merges = merges.into_iter().peekable();
        let total = entries.len();
        let mut entries = entries.into_iter();
        for i in 0..=total {
            while let Some((_, source)) = merges.next_if(|(at, _)| *at == i) {
                let sources: Vec<Value> = match source.node {
                    Node::Map(_) => vec![source],
                    Node::Seq(items) => items,
                    _ => {
                        return Err(self.err(
                            source.pos,
                            format!(
                                "merge key '<<' expects a map or a list of maps, found a {}",
                                source.kind_name()
                            ),
                        ))
                    }
                };
                for s in sources {
                    let Node::Map(merged) = s.node else {
                        return Err(self.err(
                            s.pos,
                            format!(
                                "merge key '<<' expects a map or a list of maps, found a list containing a {}",
                                s.kind_name()
                            ),
                        ));
                    };
                    for e in merged {
                        if !explicit.contains(&e.key) && seen.insert(e.key.clone()) {
                            out.push(e);
                        }
                    }
                }
            }
            if let Some(e) = entries.next() {
                out.push(e);
            }
        }
        Ok(out)
    }

    fn line_starts(&mut self) -> &[usize] {
        let src = self.src;
        self.line_starts.get_or_insert_with(|| {
            let b = src.as_bytes();
            let mut starts = vec![0];
            for (i, &c) in b.iter().enumerate() {
                if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                    starts.push(i + 1);
                }
            }
            starts
        })
    }

    /// Byte offset of a 1-based line and 0-based char column (clamped to the text).
    fn offset(&mut self, line: usize, col: usize) -> usize {
        let src = self.src;
        let starts = self.line_starts();
        let Some(&start) = starts.get(line.saturating_sub(1)) else {
            return src.len();
        };
        match src[start..].char_indices().nth(col) {
            Some((o, _)) => start + o,
            None => src.len(),
        }
    }

    fn span_text(&mut self, span: &Span) -> String {
        let a = self.offset(span.start.line(), span.start.col());
        let b = self.offset(span.end.line(), span.end.col()).max(a);
        self.src[a..b].chars().take(80).collect()
    }

    /// Position of a node's content: skip its `!tag`/`&anchor` properties and the
    /// blanks or comments after them.
    fn skip_props(&mut self, start: &Marker) -> Pos {
        let mut line = start.line();
        let mut col = start.col();
        let off = self.offset(line, col);
        let mut it = self.src[off..].chars().peekable();
        while let Some('!' | '&') = it.peek() {
            let verbatim = {
                let mut look = it.clone();
                look.next();
                look.peek() == Some(&'<')
            };
            while let Some(&c) = it.peek() {
                if verbatim {
                    it.next();
                    col += 1;
                    if c == '>' {
                        break;
                    }
                } else if c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}') {
                    break;
                } else {
                    it.next();
                    col += 1;
                }
            }
            // Blanks, line breaks and comments between properties and content.
            while let Some(&c) = it.peek() {
                match c {
                    ' ' | '\t' => {
                        it.next();
                        col += 1;
                    }
                    '\n' => {
                        it.next();
                        line += 1;
                        col = 0;
                    }
                    '\r' => {
                        it.next();
                        if it.peek() == Some(&'\n') {
                            it.next();
                        }
                        line += 1;
                        col = 0;
                    }
                    '#' => {
                        while let Some(&c) = it.peek() {
                            if c == '\n' || c == '\r' {
                                break;
                            }
                            it.next();
                        }
                    }
                    _ => break,
                }
            }
        }
        Pos::new(to_u32(line), to_u32(col + 1))
    }

    fn line_text(&mut self, line: usize) -> &'s str {
        let src = self.src;
        let starts = self.line_starts();
        match starts.get(line.saturating_sub(1)) {
            Some(&start) => {
                let end = starts.get(line).copied().unwrap_or(src.len());
                &src[start..end]
            }
            None => "",
        }
    }

    /// A line near `line` whose indentation contains a tab: saphyr often reports a
    /// tab one token late (at the end of the previous line), so look around.
    fn tab_indent_near(&mut self, line: usize) -> Option<Pos> {
        for l in [line, line + 1, line.saturating_sub(1)] {
            if l == 0 {
                continue;
            }
            let text = self.line_text(l);
            let indent = text.len() - text.trim_start_matches([' ', '\t']).len();
            let blank = text.trim().is_empty();
            if let Some(col) = text[..indent].find('\t').filter(|_| !blank) {
                return Some(Pos::new(to_u32(l), to_u32(col + 1)));
            }
        }
        None
    }

    /// Turn a saphyr error into one that says what was expected, 1-based.
    fn scan_error(&mut self, e: &ScanError) -> LoadError {
        let m = e.marker();
        let pos = marker_pos(m);
        let info = e.info();
        let mentions_tab = info.contains("tab");
        if let Some(tab) = self.tab_indent_near(m.line()) {
            return self.err(tab, TAB_MESSAGE);
        }
        if mentions_tab {
            return self.err(
                pos,
                format!("tab character not allowed here; YAML uses spaces for indentation and separation ({info})"),
            );
        }
        let message = match info {
            // saphyr counts flow depth in a u8, a little below our own bound.
            "recursion limit exceeded" => {
                "nesting deeper than 255 levels of flow collections ('[' and '{')".to_string()
            }
            "while parsing node, found unknown anchor" => {
                let name: String = self.span_text(&Span::new(*m, Marker::new(0, m.line(), m.col() + 64)))
                    .split(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
                    .next()
                    .unwrap_or_default()
                    .to_string();
                format!("alias {name} refers to an undefined anchor; expected '&{}' to be defined earlier in the document", name.trim_start_matches('*'))
            }
            "found unprintable character" => {
                "unprintable character (e.g. a NUL byte or control character) is not allowed in YAML; expected text".to_string()
            }
            "mapping values are not allowed in this context" => {
                "unexpected ':' (mapping values are not allowed in this context); expected a line break after a key's ':' or a quoted value if it contains ': '".to_string()
            }
            "while parsing a block mapping, did not find expected key" => {
                "expected a mapping key at this indentation (check the indentation of this line)".to_string()
            }
            "while parsing a block collection, did not find expected '-' indicator" => {
                "expected a '-' list item at this indentation (check the indentation of this line)".to_string()
            }
            "while parsing a flow sequence, expected ',' or ']'" => {
                "expected ',' or ']' in flow sequence".to_string()
            }
            "while parsing a flow mapping, did not find expected ',' or '}'" => {
                "expected ',' or '}' in flow mapping".to_string()
            }
            "while parsing anchor, found duplicated anchor" => {
                "anchor defined twice in the same document; expected a unique anchor name".to_string()
            }
            "while scanning a quoted scalar, found unexpected end of stream" => {
                "unterminated quoted string: expected a closing quote".to_string()
            }
            "unexpected eof" => "unexpected end of input".to_string(),
            other => format!("invalid YAML: {other}"),
        };
        // saphyr rejects some tabs YAML allows (e.g. after `key:`); say so.
        if self.line_text(m.line()).contains('\t') {
            return self.err(
                pos,
                format!("{message} (this line contains a tab character; use spaces instead)"),
            );
        }
        self.err(pos, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Value {
        let mut docs = parse_yaml(src, "t.yaml").unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    fn err(src: &str) -> LoadError {
        parse_yaml(src, "t.yaml").unwrap_err()
    }

    #[test]
    fn core_schema_typing() {
        let v = one("a: ~\nb: null\nc:\nd: true\ne: FALSE\nf: 0x1F\ng: 0o17\nh: -42\ni: 1.5e3\nj: .inf\nk: -.Inf\nl: .nan\nm: '1'\nn: yes\no: 2012-10-17\np: |\n  12\n");
        let g = |k: &str| v.get(k).unwrap().node.clone();
        assert_eq!(g("a"), Node::Null);
        assert_eq!(g("b"), Node::Null);
        assert_eq!(g("c"), Node::Null);
        assert_eq!(g("d"), Node::Bool(true));
        assert_eq!(g("e"), Node::Bool(false));
        assert_eq!(g("f"), Node::Int(31));
        assert_eq!(g("g"), Node::Int(15));
        assert_eq!(g("h"), Node::Int(-42));
        assert_eq!(g("i"), Node::Float(1500.0));
        assert_eq!(g("j"), Node::Float(f64::INFINITY));
        assert_eq!(g("k"), Node::Float(f64::NEG_INFINITY));
        assert!(matches!(g("l"), Node::Float(f) if f.is_nan()));
        assert_eq!(g("m"), Node::Str("1".into()));
        assert_eq!(g("n"), Node::Str("yes".into()));
        assert_eq!(g("o"), Node::Str("2012-10-17".into()));
        assert_eq!(g("p"), Node::Str("12\n".into()));
    }

    #[test]
    fn positions_are_one_based() {
        let v = one("Resources:\n  Vol:\n    Type: AWS::EC2::Volume\n    Properties:\n      Encrypted: false\n");
        let vol = v.get("Resources").unwrap().entry("Vol").unwrap();
        assert_eq!(vol.key_pos, Pos::new(2, 3));
        let props = vol.value.get("Properties").unwrap();
        let enc = props.entry("Encrypted").unwrap();
        assert_eq!(enc.key_pos, Pos::new(5, 7));
        assert_eq!(enc.value.pos, Pos::new(5, 18));
        assert_eq!(enc.value.node, Node::Bool(false));
    }

    #[test]
    fn multi_document() {
        let docs = parse_yaml("a: 1\n---\nb: 2\n---\n", "t.yaml").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].get("b").unwrap().pos, Pos::new(3, 4));
        assert_eq!(docs[2].node, Node::Null);
        assert!(parse_yaml("", "t.yaml").unwrap().is_empty());
    }

    #[test]
    fn short_form_tags() {
        let v = one("a: !Ref X\nb: !GetAtt Res.Attr.Deep\nc: !GetAtt [R, A]\nd: !If\n  - C\n  - 1\n  - 2\ne: !Sub 'x-${AWS::Region}'\nf: !GetAZs ''\ng: !Custom 5\n");
        let a = v.get("a").unwrap();
        assert_eq!(a.pos, Pos::new(1, 4));
        let (f, arg) = a.intrinsic().unwrap();
        assert_eq!(f, "Ref");
        assert_eq!(arg.as_str(), Some("X"));
        assert_eq!(arg.pos, Pos::new(1, 9));
        assert_eq!(a.entry("Ref").unwrap().key_pos, Pos::new(1, 4));
        let (f, arg) = v.get("b").unwrap().intrinsic().unwrap();
        assert_eq!(f, "Fn::GetAtt");
        let parts = arg.as_seq().unwrap();
        assert_eq!(parts[0].as_str(), Some("Res"));
        assert_eq!(parts[0].pos, Pos::new(2, 12));
        assert_eq!(parts[1].as_str(), Some("Attr.Deep"));
        assert_eq!(parts[1].pos, Pos::new(2, 16));
        let (_, arg) = v.get("c").unwrap().intrinsic().unwrap();
        assert_eq!(arg.as_seq().unwrap().len(), 2);
        let (f, arg) = v.get("d").unwrap().intrinsic().unwrap();
        assert_eq!(f, "Fn::If");
        assert_eq!(arg.pos, Pos::new(5, 3));
        assert_eq!(arg.as_seq().unwrap()[1].node, Node::Int(1));
        let (f, arg) = v.get("e").unwrap().intrinsic().unwrap();
        assert_eq!(f, "Fn::Sub");
        assert_eq!(arg.as_str(), Some("x-${AWS::Region}"));
        let (f, arg) = v.get("f").unwrap().intrinsic().unwrap();
        assert_eq!(f, "Fn::GetAZs");
        assert_eq!(arg.as_str(), Some(""));
        // An unknown tag becomes its long form, never a silently untagged value.
        let (f, arg) = v.get("g").unwrap().intrinsic().unwrap();
        assert_eq!((f, &arg.node), ("Fn::Custom", &Node::Int(5)));
    }

    #[test]
    fn every_short_form_tag_has_a_long_form() {
        for (tag, long) in [
            ("Condition", "Condition"),
            ("Equals", "Fn::Equals"),
            ("Join", "Fn::Join"),
            ("Select", "Fn::Select"),
            ("Split", "Fn::Split"),
            ("FindInMap", "Fn::FindInMap"),
            ("ImportValue", "Fn::ImportValue"),
            ("Base64", "Fn::Base64"),
            ("Cidr", "Fn::Cidr"),
            ("And", "Fn::And"),
            ("Or", "Fn::Or"),
            ("Not", "Fn::Not"),
            ("Transform", "Fn::Transform"),
            ("ToJsonString", "Fn::ToJsonString"),
            ("Length", "Fn::Length"),
        ] {
            let v = one(&format!("x: !{tag} {{k: v}}\n"));
            let (f, arg) = v.get("x").unwrap().intrinsic().unwrap();
            assert_eq!(f, long);
            assert_eq!(arg.get("k").unwrap().as_str(), Some("v"));
            assert_eq!(arg.pos, Pos::new(1, 5 + tag.len() as u32 + 1));
        }
    }

    #[test]
    fn anchors_aliases_and_merge() {
        let v = one(
            "base: &b\n  x: 1\n  y: 2\nother: &o {z: 3}\nuse:\n  <<: [*b, *o]\n  y: 20\ncopy: *b\n",
        );
        let u = v.get("use").unwrap().as_map().unwrap();
        let keys: Vec<&str> = u.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["x", "z", "y"]);
        assert_eq!(v.get("use").unwrap().get("y").unwrap().node, Node::Int(20));
        let copy = v.get("copy").unwrap();
        assert_eq!(copy.get("x").unwrap().node, Node::Int(1));
        // An alias copies the anchored value with the anchor's positions.
        assert_eq!(copy.pos, Pos::new(2, 3));
        assert_eq!(copy.get("x").unwrap().pos, Pos::new(2, 6));
    }

    #[test]
    fn alias_as_key_and_anchored_scalars() {
        let v = one("k: &name bucket\n*name : 5\nlist: [&n 1, *n]\n");
        assert_eq!(v.get("bucket").unwrap().node, Node::Int(5));
        let l = v.get("list").unwrap().as_seq().unwrap();
        assert_eq!(l[1].node, Node::Int(1));
    }

    #[test]
    fn anchored_keys_keep_their_type_as_values() {
        let v = one("&k 5: x\ny: *k\n");
        assert_eq!(v.get("5").unwrap().as_str(), Some("x"));
        assert_eq!(v.get("y").unwrap().node, Node::Int(5));
    }

    #[test]
    fn nested_anchor_copies_are_bounded() {
        let depth = 250;
        let mut s = String::new();
        for i in 0..depth {
            s.push_str(&format!("&a{i} ["));
        }
        s.push_str(&"x, ".repeat(5000));
        s.push_str(&"]".repeat(depth));
        let e = err(&s);
        assert!(e.message.contains("anchored values hold more than"), "{e}");
    }

    #[test]
    fn other_errors_on_a_line_with_a_tab_say_so() {
        let e = err("k:\tv\n");
        assert!(e.message.contains("contains a tab character"), "{e}");
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = err("a: 1\nb: 2\na: 3\n");
        assert_eq!(e.pos, Some(Pos::new(3, 1)));
        assert!(e.message.contains("'a'"), "{e}");
        assert!(
            e.message.contains("line 1") && e.message.contains("line 3"),
            "{e}"
        );
    }

    #[test]
    fn undefined_alias_is_an_error() {
        let e = err("a: *nope\n");
        assert_eq!(e.pos, Some(Pos::new(1, 4)));
        assert!(e.message.contains("*nope"), "{e}");
        assert!(e.message.contains("undefined anchor"), "{e}");
    }

    #[test]
    fn under_indented_quoted_scalars_are_reindented_by_their_node() {
        // Padding by the quote's column made this 90 KB input cost 900 MB.
        let n = 30_000;
        let src = format!("a:\n  k:{}\"x\n{}\"\n", " ".repeat(n), "y\n".repeat(n));
        let fixed = reindent_quoted(&src, src.find('"').unwrap()).unwrap();
        // Three bytes (the node at column 2, plus one) on each of n + 1 lines.
        assert_eq!(fixed.len(), src.len() + 3 * (n + 1));
        let docs = parse_yaml(&src, "t.yaml").unwrap();
        let v = docs[0].get("a").unwrap().get("k").unwrap();
        // "x y y … y ": the line break before the closing quote folds to a space.
        assert_eq!(v.as_str().map(str::len), Some(2 + 2 * n));
        // Compact nested nodes: the mapping inside `- - ` sits at column 5.
        let docs = parse_yaml("- - k: \"a\n b\"\n", "t.yaml").unwrap();
        assert_eq!(
            docs[0].as_seq().unwrap()[0].as_seq().unwrap()[0]
                .get("k")
                .unwrap()
                .as_str(),
            Some("a b")
        );
        // Indentation alone (a value on the line after its key) is bounded by
        // the growth limit instead: an error, not gigabytes.
        let src = format!("a:\n  k:\n{}\"x\n{}\"\n", " ".repeat(n), "y\n".repeat(n));
        assert!(err(&src).message.contains("indentation"));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = err(&s);
        assert!(e.message.contains("alias expansion exceeds"), "{e}");
        assert!(e.message.contains("alias bomb"), "{e}");
    }

    #[test]
    fn depth_is_bounded_without_overflow() {
        for n in [10_000usize, 100_000] {
            let flow = format!("{}{}", "[".repeat(n), "]".repeat(n));
            assert!(err(&flow).message.contains("nesting deeper than"));
            let flow_map = "{a: ".repeat(n) + &"}".repeat(n);
            assert!(err(&flow_map).message.contains("nesting deeper than"));
            let block_seq = "- ".repeat(n) + "x\n";
            let e = err(&block_seq);
            assert_eq!(e.message, "nesting deeper than 256 levels");
            assert_eq!(e.pos, Some(Pos::new(1, 2 * 256 + 1)));
        }
        let mut block_map = String::new();
        for i in 0..10_000 {
            block_map.push_str(&" ".repeat(i));
            block_map.push_str("k:\n");
        }
        let e = err(&block_map);
        assert_eq!(e.message, "nesting deeper than 256 levels");
        assert_eq!(e.pos, Some(Pos::new(257, 257)));
        // Exactly at the bound is fine.
        let ok = "- ".repeat(MAX_YAML_DEPTH) + "x\n";
        assert!(parse_yaml(&ok, "t").is_ok());
    }

    #[test]
    fn tab_indentation_is_named() {
        for src in ["a:\n  b: 1\n\tc: 2\n", "a:\n\tb: 1\n", "a:\n  - x\n\t- y\n"] {
            let e = err(src);
            assert_eq!(e.message, TAB_MESSAGE, "{src:?}");
        }
        let e = err("a:\n  b: 1\n\tc: 2\n");
        assert_eq!(e.pos, Some(Pos::new(3, 1)));
    }

    #[test]
    fn bom_and_crlf() {
        let v = one("\u{feff}a: 1\r\nb: 2\r\n");
        assert_eq!(v.entry("a").unwrap().key_pos, Pos::new(1, 1));
        assert_eq!(v.entry("b").unwrap().key_pos, Pos::new(2, 1));
    }

    #[test]
    fn complex_keys_are_rejected() {
        assert!(err("? [a, b]\n: 1\n")
            .message
            .contains("keys must be scalars"));
        assert!(err("[a]: 1\n").message.contains("keys must be scalars"));
    }

    #[test]
    fn recursive_alias_is_an_error() {
        let e = parse_yaml("a: &x [1, *x]\n", "t");
        assert!(e.is_err());
    }

    #[test]
    fn scalar_errors_are_readable() {
        let e = err("a: \"unterminated\n");
        assert!(e.pos.is_some());
        assert!(!e.message.is_empty());
        let e = err("a: b: c\n");
        assert_eq!(e.pos.map(|p| p.line), Some(1));
    }

    /// Random bytes (fixed-seed LCG) must never panic the loader.
    #[test]
    fn fuzz_random_input_never_panics() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let alphabet: &[u8] = b"abc:- \n\t[]{},&*!<>'\"|#%@`?~01.\\\0\r";
        for _ in 0..3000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % 4 == 0 {
                        (next() % 128) as u8
                    } else {
                        alphabet[(next() as usize) % alphabet.len()]
                    }
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_yaml(&s, "fuzz.yaml");
        }
        let _ = parse_yaml(&"x".repeat(5_000_000), "big.yaml");
        let _ = parse_yaml("a: \0\n", "nul.yaml");
    }
}
