//! Reading template values that may be intrinsics (CloudFormation) or "known
//! after apply" (Terraform) through one small trait, so the analyses never care
//! where a value came from — and so the evaluator's full resolver (`Fn::If` on
//! both branches, `Fn::Sub`, `Fn::FindInMap`, `--param`) can be plugged in.

use std::collections::{BTreeMap, HashMap};

use crate::doc::{Node, Pos, Template, TemplateKind, Value};

/// Most nested intrinsics followed for one value (a `Ref` to a parameter whose
/// default is a `Select` of a `GetAtt`...). Real templates need a handful.
pub const MAX_DEPTH: usize = 32;

/// What a template value stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// A plain value (a scalar, or a list/map whose items may still need resolving).
    Known(Value),
    /// A resource of the same template (`Ref`, `Fn::GetAtt` of an identity
    /// attribute, a Terraform reference), with the attribute named, if any.
    Resource {
        index: usize,
        attribute: Option<String>,
    },
    /// `Ref: AWS::NoValue`: the property is treated as absent.
    Absent,
    /// Cannot be known before deployment; the reason says why.
    Unknown(String),
}

/// Resolves one value of a template. Implementations must not panic and must
/// bound their recursion.
pub trait Resolve: Sync {
    fn resolve(&self, v: &Value) -> Resolved;

    /// The items of a list value. A Terraform list "known after apply" that
    /// references several resources yields each of them.
    fn resolve_list(&self, v: &Value) -> Vec<Resolved> {
        match self.resolve(v) {
            Resolved::Known(Value {
                node: Node::Seq(items),
                ..
            }) => items.iter().map(|i| self.resolve(i)).collect(),
            Resolved::Absent => Vec::new(),
            Resolved::Known(Value {
                node: Node::Null, ..
            }) => Vec::new(),
            other => vec![other],
        }
    }
}

/// The resolver that fits the template's kind.
pub fn default_resolver(tpl: &Template) -> Box<dyn Resolve + '_> {
    match tpl.kind {
        TemplateKind::CloudFormation => Box::new(CfnResolver::new(tpl)),
        TemplateKind::TerraformPlan => Box::new(TerraformResolver::new(tpl)),
    }
}

/// Resolves the intrinsics [`CfnResolver`] does not (`Fn::If`, `Fn::Sub`,
/// `Fn::Join`, `Fn::FindInMap`, ...): the evaluator plugs in here.
pub type Fallback<'t> = Box<dyn Fn(&Value) -> Resolved + Sync + 't>;

/// CloudFormation: `Ref` to resources and to parameters with defaults,
/// `Fn::GetAtt` (an attribute that mirrors a property, such as a VPC's
/// `CidrBlock` or a subnet's `VpcId`, resolves to that property),
/// `Fn::Select` over known lists, `Fn::Cidr` of known blocks, `AWS::NoValue`.
/// Everything else (`Fn::ImportValue`, pseudo parameters, parameters without a
/// default, conditions) is Unknown with its reason.
pub struct CfnResolver<'t> {
    tpl: &'t Template,
    ids: HashMap<&'t str, usize>,
    /// `--param NAME=VALUE`: they win over parameter defaults and set pseudo parameters.
    params: Option<&'t BTreeMap<String, String>>,
    fallback: Option<Fallback<'t>>,
}

impl<'t> CfnResolver<'t> {
    pub fn new(tpl: &'t Template) -> Self {
        let ids = tpl
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        CfnResolver {
            tpl,
            ids,
            params: None,
            fallback: None,
        }
    }

    /// Parameter values given for the scan (`--param`).
    pub fn with_params(mut self, params: &'t BTreeMap<String, String>) -> Self {
        self.params = Some(params);
        self
    }

    /// Who resolves the intrinsics this resolver does not.
    pub fn with_fallback(mut self, fallback: Fallback<'t>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// `Fn::Split` of a known string; and of an EC2 resource's id
    /// (`!Split [",", !GetAtt Sg.GroupId]`, a common way to make a one-item
    /// list), which holds no delimiter that is not an id character: the list of
    /// that one resource. Anything else goes to the fallback.
    fn resolve_split(&self, v: &Value, arg: &Value, depth: usize) -> Resolved {
        let Some([sep, text]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok()) else {
            return Resolved::Unknown("Fn::Split needs [delimiter, string]".into());
        };
        let sep = match self.resolve_at(sep, depth + 1) {
            Resolved::Known(Value {
                node: Node::Str(s), ..
            }) if !s.is_empty() => s,
            Resolved::Unknown(r) => return Resolved::Unknown(r),
            _ => return Resolved::Unknown("Fn::Split needs a delimiter string".into()),
        };
        match self.resolve_at(text, depth + 1) {
            Resolved::Known(Value {
                node: Node::Str(s),
                pos,
            }) => Resolved::Known(Value::new(
                Node::Seq(s.split(sep.as_str()).map(|p| Value::str(p, pos)).collect()),
                v.pos,
            )),
            Resolved::Resource { index, attribute }
                if self.tpl.resources[index].rtype.starts_with("AWS::EC2::")
                    && attribute.as_deref().is_none_or(|a| a.ends_with("Id"))
                    && !sep
                        .chars()
                        .any(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                Resolved::Known(Value::new(Node::Seq(vec![text.clone()]), v.pos))
            }
            Resolved::Unknown(r) => Resolved::Unknown(r),
            _ => match &self.fallback {
                Some(f) => f(v),
                None => Resolved::Unknown("Fn::Split of a value known only at deploy time".into()),
            },
        }
    }

    fn is_list_param(&self, name: &str) -> bool {
        self.tpl
            .parameters
            .get(name)
            .and_then(|p| p.param_type.as_deref())
            .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList")
    }

    fn resolve_at(&self, v: &Value, depth: usize) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown("intrinsic functions nest too deeply".into());
        }
        let Some((name, arg)) = v.intrinsic() else {
            return Resolved::Known(v.clone());
        };
        match name {
            "Ref" => match arg.as_str() {
                Some(t) => self.resolve_ref(t, v.pos, depth),
                None => Resolved::Unknown("Ref to something that is not a name".into()),
            },
            "Fn::GetAtt" => {
                let (target, attr) = match &arg.node {
                    Node::Seq(s) if s.len() == 2 => (
                        s[0].as_str().map(str::to_string),
                        match self.resolve_at(&s[1], depth + 1) {
                            Resolved::Known(a) => a.as_str().map(str::to_string),
                            _ => None,
                        },
                    ),
                    Node::Str(s) => match s.split_once('.') {
                        Some((t, a)) => (Some(t.to_string()), Some(a.to_string())),
                        None => (Some(s.clone()), None),
                    },
                    _ => (None, None),
                };
                let Some(target) = target else {
                    return Resolved::Unknown("Fn::GetAtt needs [resource, attribute]".into());
                };
                let Some(&index) = self.ids.get(target.as_str()) else {
                    return Resolved::Unknown(format!(
                        "Fn::GetAtt of {target}, which is not a resource of this template"
                    ));
                };
                // An attribute that is also a property (VPC CidrBlock, Subnet
                // VpcId, SecurityGroup VpcId) has the property's value.
                if let Some(a) = &attr {
                    if let Some(p) = self.tpl.resources[index]
                        .props
                        .as_ref()
                        .and_then(|p| p.get(a))
                    {
                        return self.resolve_at(p, depth + 1);
                    }
                }
                Resolved::Resource {
                    index,
                    attribute: attr,
                }
            }
            "Fn::Select" => {
                let Some([idx, list]) = arg.as_seq().and_then(|s| <&[Value; 2]>::try_from(s).ok())
                else {
                    return Resolved::Unknown("Fn::Select needs [index, list]".into());
                };
                let i = match self.resolve_at(idx, depth + 1) {
                    Resolved::Known(Value {
                        node: Node::Int(i), ..
                    }) => i,
                    Resolved::Known(Value {
                        node: Node::Str(s), ..
                    }) => match s.trim().parse() {
                        Ok(i) => i,
                        Err(_) => {
                            return Resolved::Unknown("Fn::Select index is not a number".into())
                        }
                    },
                    Resolved::Unknown(r) => return Resolved::Unknown(r),
                    _ => return Resolved::Unknown("Fn::Select index is not a number".into()),
                };
                match self.resolve_at(list, depth + 1) {
                    Resolved::Known(Value {
                        node: Node::Seq(items),
                        ..
                    }) => match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                        Some(item) => self.resolve_at(item, depth + 1),
                        None => Resolved::Unknown(format!("Fn::Select index {i} is out of range")),
                    },
                    Resolved::Unknown(r) => Resolved::Unknown(r),
                    Resolved::Resource { index, attribute } => Resolved::Unknown(format!(
                        "Fn::Select of {}{}, known only at deploy time",
                        self.tpl.resources[index].id,
                        attribute.map(|a| format!(".{a}")).unwrap_or_default()
                    )),
                    _ => Resolved::Unknown("Fn::Select of a value that is not a list".into()),
                }
            }
            "Fn::Cidr" => self.resolve_cidr(arg, v.pos, depth),
            "Fn::Split" => self.resolve_split(v, arg, depth),
            "Fn::ImportValue" => Resolved::Unknown(
                "the value is imported from another stack (Fn::ImportValue)".into(),
            ),
            other => match &self.fallback {
                Some(f) => f(v),
                None => Resolved::Unknown(format!(
                    "{other} is not resolved before deployment by this analysis"
                )),
            },
        }
    }

    fn resolve_ref(&self, target: &str, pos: Pos, depth: usize) -> Resolved {
        if target == "AWS::NoValue" {
            return Resolved::Absent;
        }
        if let Some(given) = self.params.and_then(|p| p.get(target)) {
            return if self.is_list_param(target) {
                Resolved::Known(Value::new(
                    Node::Seq(
                        given
                            .split(',')
                            .map(|x| Value::str(x.trim(), pos))
                            .collect(),
                    ),
                    pos,
                ))
            } else {
                Resolved::Known(Value::str(given.clone(), pos))
            };
        }
        if let Some(p) = self.tpl.parameters.get(target) {
            return match &p.default {
                Some(d) => {
                    let is_list = p
                        .param_type
                        .as_deref()
                        .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
                    match (&d.node, is_list) {
                        (Node::Str(s), true) => Resolved::Known(Value::new(
                            Node::Seq(s.split(',').map(|x| Value::str(x.trim(), d.pos)).collect()),
                            d.pos,
                        )),
                        _ => self.resolve_at(d, depth + 1),
                    }
                }
                None => Resolved::Unknown(format!(
                    "parameter {target} has no default value (set it with --param {target}=VALUE)"
                )),
            };
        }
        if target.starts_with("AWS::") {
            return Resolved::Unknown(format!(
                "pseudo parameter {target} is known only at deploy time"
            ));
        }
        match self.ids.get(target) {
            Some(&index) => Resolved::Resource {
                index,
                attribute: None,
            },
            None => Resolved::Unknown(format!(
                "Ref to {target} (at {pos}), which is neither a parameter nor a resource"
            )),
        }
    }

    /// `Fn::Cidr [block, count, bits]` when the block is known.
    fn resolve_cidr(&self, arg: &Value, pos: Pos, depth: usize) -> Resolved {
        let Some([block, count, bits]) = arg.as_seq().and_then(|s| <&[Value; 3]>::try_from(s).ok())
        else {
            return Resolved::Unknown("Fn::Cidr needs [block, count, bits]".into());
        };
        let text = |v: &Value| match self.resolve_at(v, depth + 1) {
            Resolved::Known(Value {
                node: Node::Str(s), ..
            }) => Ok(s),
            Resolved::Known(Value {
                node: Node::Int(i), ..
            }) => Ok(i.to_string()),
            Resolved::Unknown(r) => Err(r),
            Resolved::Resource { index, attribute } => Err(format!(
                "{}{} is known only at deploy time",
                self.tpl.resources[index].id,
                attribute.map(|a| format!(".{a}")).unwrap_or_default()
            )),
            _ => Err("Fn::Cidr argument is not a scalar".into()),
        };
        let (block, count, bits) = match (text(block), text(count), text(bits)) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return Resolved::Unknown(r),
        };
        let (Ok(net), Ok(count), Ok(bits)) = (
            block.parse::<ipnet::IpNet>(),
            count.parse::<u32>(),
            bits.parse::<u8>(),
        ) else {
            return Resolved::Unknown(format!(
                "Fn::Cidr arguments are not a block, count and bits: {block}, {count}, {bits}"
            ));
        };
        let max = if net.addr().is_ipv4() { 32 } else { 128 };
        if bits == 0 || bits > max || max - bits < net.prefix_len() || count == 0 || count > 256 {
            return Resolved::Unknown(format!(
                "Fn::Cidr cannot split {net} into {count} blocks of {bits} host bits"
            ));
        }
        let Ok(subnets) = net.subnets(max - bits) else {
            return Resolved::Unknown(format!("Fn::Cidr cannot split {net}"));
        };
        let items: Vec<Value> = subnets
            .take(count as usize)
            .map(|n| Value::str(n.to_string(), pos))
            .collect();
        Resolved::Known(Value::new(Node::Seq(items), pos))
    }
}

impl Resolve for CfnResolver<'_> {
    fn resolve(&self, v: &Value) -> Resolved {
        self.resolve_at(v, 0)
    }
}

/// Terraform plans: values known after apply carry the addresses their
/// expressions referenced; a reference resolves to that resource (for a
/// `count`/`for_each` resource referenced without its index, the instance with
/// the referring resource's index, else the first). A literal id such as
/// `sg-0123` resolves to the resource whose planned `id` or `arn` it is.
pub struct TerraformResolver<'t> {
    tpl: &'t Template,
    by_address: HashMap<&'t str, usize>,
    /// Address without instance keys → instances in order.
    by_base: HashMap<String, Vec<usize>>,
    by_known_id: HashMap<&'t str, usize>,
}

fn strip_indexes(addr: &str) -> String {
    let mut out = String::with_capacity(addr.len());
    let mut depth = 0usize;
    for c in addr.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The instance key of an address's last segment (`[1]` of `aws_x.y[1]`).
fn last_key(addr: &str) -> Option<&str> {
    let s = addr.strip_suffix(']')?;
    let open = s.rfind('[')?;
    Some(&s[open + 1..])
}

impl<'t> TerraformResolver<'t> {
    pub fn new(tpl: &'t Template) -> Self {
        let mut by_address = HashMap::new();
        let mut by_base: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_known_id = HashMap::new();
        for (i, r) in tpl.resources.iter().enumerate() {
            by_address.insert(r.id.as_str(), i);
            by_base.entry(strip_indexes(&r.id)).or_default().push(i);
            if let Some(p) = &r.props {
                for key in ["id", "arn"] {
                    if let Some(s) = p.get(key).and_then(Value::as_str) {
                        by_known_id.insert(s, i);
                    }
                }
            }
        }
        TerraformResolver {
            tpl,
            by_address,
            by_base,
            by_known_id,
        }
    }

    /// The resource a reference such as `aws_subnet.a.id` or `module.m.aws_x.y[0]` names.
    pub fn find(&self, reference: &str, from: Option<usize>) -> Option<(usize, Option<String>)> {
        let mut candidate = reference;
        let mut attr: Option<&str> = None;
        loop {
            if let Some(&i) = self.by_address.get(candidate) {
                return Some((i, attr.map(str::to_string)));
            }
            if let Some(list) = self.by_base.get(candidate) {
                let key = from.and_then(|f| last_key(&self.tpl.resources[f].id));
                let pick = key
                    .and_then(|k| {
                        list.iter()
                            .find(|&&i| last_key(&self.tpl.resources[i].id) == Some(k))
                    })
                    .or(list.first());
                if let Some(&i) = pick {
                    return Some((i, attr.map(str::to_string)));
                }
            }
            let dot = candidate.rfind('.')?;
            attr = Some(&reference[dot + 1..]);
            candidate = &candidate[..dot];
        }
    }

    fn computed(&self, refs: &[String], configured: bool) -> Vec<Resolved> {
        let mut out: Vec<Resolved> = Vec::new();
        for r in refs {
            if let Some((index, attribute)) = self.find(r, None) {
                if !out
                    .iter()
                    .any(|o| matches!(o, Resolved::Resource { index: j, .. } if *j == index))
                {
                    out.push(Resolved::Resource { index, attribute });
                }
            }
        }
        if out.is_empty() {
            out.push(Resolved::Unknown(if configured {
                "the value is known only after apply".into()
            } else {
                "the configuration does not set the value; the provider fills it in at apply time"
                    .into()
            }));
        }
        out
    }
}

impl Resolve for TerraformResolver<'_> {
    fn resolve(&self, v: &Value) -> Resolved {
        match &v.node {
            Node::Computed { refs, configured } => self.computed(refs, *configured).swap_remove(0),
            Node::Str(s) => match self.by_known_id.get(s.as_str()) {
                Some(&index) => Resolved::Resource {
                    index,
                    attribute: None,
                },
                None => Resolved::Known(v.clone()),
            },
            _ => Resolved::Known(v.clone()),
        }
    }

    fn resolve_list(&self, v: &Value) -> Vec<Resolved> {
        match &v.node {
            Node::Computed { refs, configured } => self.computed(refs, *configured),
            Node::Seq(items) => items.iter().map(|i| self.resolve(i)).collect(),
            Node::Null => Vec::new(),
            _ => vec![self.resolve(v)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_source;

    #[test]
    fn cfn_refs_getatt_params_and_cidr() {
        let t = &load_source(
            "t.yaml",
            r#"
Parameters:
  Cidr: {Type: String, Default: 10.0.0.0/16}
  Open: {Type: String}
  Groups: {Type: CommaDelimitedList, Default: "sg-1, sg-2"}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !Ref Cidr}}
  Sub:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 4, 8]]
      Other: !Ref Open
      Gone: !Ref AWS::NoValue
      Ipv6: !Select [0, !GetAtt Vpc.Ipv6CidrBlocks]
      Gs: !Ref Groups
"#,
        )
        .unwrap()[0];
        let r = CfnResolver::new(t);
        let p = t.resources[1].props.as_ref().unwrap();
        assert_eq!(
            r.resolve(p.get("VpcId").unwrap()),
            Resolved::Resource {
                index: 0,
                attribute: None
            }
        );
        match r.resolve(p.get("CidrBlock").unwrap()) {
            Resolved::Known(v) => assert_eq!(v.as_str(), Some("10.0.1.0/24")),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(r.resolve(p.get("Other").unwrap()), Resolved::Unknown(m) if m.contains("Open has no default"))
        );
        assert_eq!(r.resolve(p.get("Gone").unwrap()), Resolved::Absent);
        assert!(
            matches!(r.resolve(p.get("Ipv6").unwrap()), Resolved::Unknown(m) if m.contains("Vpc.Ipv6CidrBlocks"))
        );
        let gs = r.resolve_list(p.get("Gs").unwrap());
        assert_eq!(gs.len(), 2);
        assert!(matches!(&gs[1], Resolved::Known(v) if v.as_str() == Some("sg-2")));
    }

    #[test]
    fn split_of_an_ec2_id_is_that_one_resource() {
        let t = &load_source(
            "t.yaml",
            r#"
Parameters:
  Names: {Type: String, Default: "a,b"}
Resources:
  Sg: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: x}}
  Feed: {Type: Custom::Feed, Properties: {ServiceToken: arn}}
  I:
    Type: AWS::EC2::Instance
    Properties:
      One: !Split [",", !GetAtt Sg.GroupId]
      Known: !Split [",", !Ref Names]
      Custom: !Split [",", !GetAtt Feed.Groups]
      Dash: !Split ["-", !Ref Sg]
"#,
        )
        .unwrap()[0];
        let r = CfnResolver::new(t);
        let p = t.resources[2].props.as_ref().unwrap();
        assert_eq!(
            r.resolve_list(p.get("One").unwrap()),
            [Resolved::Resource {
                index: 0,
                attribute: Some("GroupId".into())
            }]
        );
        let known = r.resolve_list(p.get("Known").unwrap());
        assert!(
            matches!(&known[..], [Resolved::Known(a), Resolved::Known(b)] if a.as_str() == Some("a") && b.as_str() == Some("b")),
            "{known:?}"
        );
        // A custom resource's output may hold the delimiter; a dash is in every id.
        for k in ["Custom", "Dash"] {
            assert!(
                matches!(r.resolve(p.get(k).unwrap()), Resolved::Unknown(_)),
                "{k}"
            );
        }
    }
}
