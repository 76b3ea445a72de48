//! The table of built-in functions, shared by the checker (arity, types, help)
//! and the compiler (name → [`Func`]).

use super::ir::Func;

/// The static type of an argument or a result, as far as the checker can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgTy {
    Any,
    Str,
    Num,
    Bool,
    List,
}

pub struct FuncSpec {
    pub name: &'static str,
    pub func: Func,
    pub min: usize,
    /// `usize::MAX` for variadic functions.
    pub max: usize,
    pub args: &'static [ArgTy],
    pub ret: ArgTy,
    pub doc: &'static str,
}

const fn spec(
    name: &'static str,
    func: Func,
    min: usize,
    max: usize,
    args: &'static [ArgTy],
    ret: ArgTy,
    doc: &'static str,
) -> FuncSpec {
    FuncSpec {
        name,
        func,
        min,
        max,
        args,
        ret,
        doc,
    }
}

use ArgTy::*;

pub const FUNCS: &[FuncSpec] = &[
    spec("len", Func::Len, 1, 1, &[Any], Num, "number of items of a list or map, or characters of a string"),
    spec("count", Func::Len, 1, 1, &[Any], Num, "same as len"),
    spec("lower", Func::Lower, 1, 1, &[Str], Str, "lower-case string"),
    spec("upper", Func::Upper, 1, 1, &[Str], Str, "upper-case string"),
    spec("starts_with", Func::StartsWith, 2, 2, &[Str, Str], Bool, "whether the string starts with the prefix"),
    spec("ends_with", Func::EndsWith, 2, 2, &[Str, Str], Bool, "whether the string ends with the suffix"),
    spec("contains", Func::Contains, 2, 2, &[Any, Any], Bool, "whether a list holds an item, or a string a substring"),
    spec("to_number", Func::ToNumber, 1, 1, &[Any], Num, "the number a string spells"),
    spec("to_string", Func::ToString, 1, 1, &[Any], Str, "the value as text"),
    spec("to_list", Func::ToList, 1, 1, &[Any], List, "a list as is; any other value as a one-item list (IAM fields may be either)"),
    spec("keys", Func::Keys, 1, 1, &[Any], List, "the keys of a map"),
    spec("values", Func::Values, 1, 1, &[Any], List, "the values of a map"),
    spec("json", Func::Json, 1, 1, &[Any], Any, "parses a JSON string (Terraform policies are strings); a map or list is returned as is"),
    spec("cidr_contains", Func::CidrContains, 2, 2, &[Str, Str], Bool, "whether the network (first) contains the address or network (second)"),
    spec("cidr_overlaps", Func::CidrOverlaps, 2, 2, &[Str, Str], Bool, "whether two networks share an address"),
    spec("cidr_is_world", Func::CidrIsWorld, 1, 1, &[Str], Bool, "whether the network is all addresses (0.0.0.0/0 or ::/0)"),
    spec("cidr_prefix", Func::CidrPrefix, 1, 1, &[Str], Num, "the prefix length of a network"),
    spec("is_private_ip", Func::IsPrivateIp, 1, 1, &[Str], Bool, "whether an address or network is private (RFC 1918, RFC 4193, loopback, link-local)"),
    spec("resources", Func::Resources, 1, usize::MAX, &[Str], List, "the resources of these types in the same template"),
    spec("refers_to", Func::RefersTo, 2, 2, &[Any, Any], Bool, "whether a value (a Ref, GetAtt or Terraform reference) names the resource"),
    spec("deref", Func::Deref, 1, 1, &[Any], Any, "the resource a Ref, GetAtt or Terraform reference names"),
    spec("coalesce", Func::Coalesce, 1, usize::MAX, &[Any], Any, "the first argument that exists"),
    spec("configured", Func::Configured, 1, 1, &[Any], Bool, "whether the value is set: false when missing, null, or a Terraform attribute the configuration leaves to the provider's default"),
    spec("kms.key", Func::KmsKey, 1, 1, &[Any], Any, "the KMS key a reference names (a template key, or a key id, ARN or alias in --keystore): exists, state, manager, spec, usage, origin, rotation, arn, id, aliases"),
    spec("kms.allows", Func::KmsAllows, 3, 3, &[Any, Str, Str], Bool, "whether the key's policy and grants let a principal ARN perform an action (kms:Decrypt, ...)"),
    spec("kms.decrypts", Func::KmsDecrypts, 3, 3, &[Str, Any, Any], Bool, "whether an envelope-encrypted sample file decrypts under the key and encryption context (false for plaintext)"),
    spec("kms.sample", Func::KmsSample, 1, 1, &[Any], Any, "the data sample the --samples manifest gives for a resource: file, key, context"),
    spec("threatlist", Func::ThreatList, 1, 1, &[Str], List, "the threat list given with --threat-list NAME=PATH: IPs, CIDRs and domains; `x in threatlist(\"ips\")` (a domain matches its subdomains; the --trusted-list always wins)"),
    spec("aws_ip_ranges", Func::AwsIpRanges, 0, 0, &[], List, "the IPv4 and IPv6 ranges of AWS's ip-ranges.json given with --aws-ip-ranges; `x in aws_ip_ranges()`"),
    spec("entropy", Func::Entropy, 1, 1, &[Str], Num, "Shannon entropy of a string, in bits per character"),
    spec("url_decode", Func::UrlDecode, 1, 1, &[Str], Str, "percent-decodes a string (`+` is a space), as CloudTrail writes some policy documents"),
    spec("first_label", Func::FirstLabel, 1, 1, &[Str], Str, "the first label of a domain name: `abc` of `abc.example.com`"),
    spec("parent_domain", Func::ParentDomain, 1, 1, &[Str], Str, "a domain name without its first label: `example.com` of `abc.example.com`"),
    spec("is_ip", Func::IsIp, 1, 1, &[Any], Bool, "whether the value is an IPv4 or IPv6 address (CloudTrail's sourceIPAddress may be a name)"),
    spec("waf.first_not_blocked", Func::WafFirstNotBlocked, 2, 2, &[Any, Str], Any, "evaluates the web ACL (AWS WAFv2 semantics) over a request corpus (\"attacks\" is bundled) and returns the first request it does not block or challenge: request, action, rule, index, approximations; missing when it stops them all"),
    spec("waf.first_not_allowed", Func::WafFirstNotAllowed, 2, 2, &[Any, Str], Any, "evaluates the web ACL over a request corpus (\"benign\" is bundled) and returns the first request it does not allow: request, action, rule, index, approximations; missing when it allows them all"),
    spec("secrets.find", Func::SecretsFind, 1, 2, &[Any, Str], List, "the secrets kept in plain text in a resource, property or string (optionally held under the name given second): a list of maps with rule, kind, key, path, line, location and redacted"),
    spec("secrets.entropy", Func::SecretsEntropy, 1, 1, &[Str], Num, "the Shannon entropy of a string, in bits per character"),
    spec("unknown", Func::Unknown, 1, 1, &[Str], Any, "a value that cannot be known statically, for the reason given: `x or unknown(\"why\")` makes a result unknown instead of failed"),
    spec("reachable", Func::Reachable, 1, 1, &[Any], List, "the port ranges of an EC2 instance the internet can reach (internet gateway, route table, network ACL, security groups, public address, or an internet-facing load balancer), one map per range: protocol, family, begin, end, ports, services, database, admin, via, path, path_text, status, open, reason, summary, severity, key, finding (Inspector NETWORK_REACHABILITY); empty when unreachable"),
    spec("vulnerabilities", Func::Vulnerabilities, 1, 1, &[Any], List, "the vulnerable packages (--inventory matched against --advisories) of an inventory entry, or of the entries that name a template resource, one map per advisory and package: id, vulnerability, label, title, aliases, summary, package, version, manager, ecosystem, path, fixed, fix_available, status, vulnerable, reason, remediation, severity, key, finding (Inspector PACKAGE_VULNERABILITY)"),
    spec("known", Func::Known, 1, 1, &[Any], Bool, "whether the value is known statically (false for an unresolved parameter or a Terraform value known only after apply)"),
];

/// Aggregates over a detection's window: allowed in `alert when` and `message`.
pub const AGGREGATES: &[(&str, usize, &str)] = &[
    ("count", 0, "the number of records in the window"),
    (
        "count_distinct",
        1,
        "the number of distinct values in the window",
    ),
    ("sum", 1, "the sum of the values in the window"),
    ("min", 1, "the smallest value in the window"),
    ("max", 1, "the largest value in the window"),
];

/// An aggregate by name and number of arguments (`count()` is one, `count(x)` is
/// the built-in function).
pub fn aggregate(name: &str, args: usize) -> Option<&'static (&'static str, usize, &'static str)> {
    AGGREGATES.iter().find(|(n, a, _)| *n == name && *a == args)
}

pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    FUNCS.iter().find(|f| f.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|f| f.name)
}
