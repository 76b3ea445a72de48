//! Labels: prefixes per context, and LabelMatchStatement's LABEL and NAMESPACE
//! matching (AWS WAF developer guide, "Matching against a label").
//!
//! A key that starts with `awswaf:` is fully qualified: LABEL matches that exact
//! label, NAMESPACE matches labels that start with it. Any other key is local to
//! the context of the rule that holds the statement (`awswaf:ACCOUNT:webacl:NAME:`
//! or the rule group's prefix): LABEL matches local labels that end with the key
//! on a `:` boundary, NAMESPACE local labels that contain it as contiguous
//! namespaces.

use super::acl::LabelScope;

pub const QUALIFIED: &str = "awswaf:";

/// `awswaf:ACCOUNT:webacl:NAME:`
pub fn web_acl_prefix(account: &str, name: &str) -> String {
    format!("awswaf:{account}:webacl:{name}:")
}

/// `awswaf:ACCOUNT:rulegroup:NAME:`
pub fn rule_group_prefix(account: &str, name: &str) -> String {
    format!("awswaf:{account}:rulegroup:{name}:")
}

/// Whether `label` satisfies a label match statement written in the context
/// whose prefix is `context`.
pub fn matches(scope: LabelScope, key: &str, context: &str, label: &str) -> bool {
    if key.starts_with(QUALIFIED) {
        return match scope {
            LabelScope::Label => label == key,
            LabelScope::Namespace => {
                if key.ends_with(':') {
                    label.starts_with(key)
                } else {
                    label.len() > key.len()
                        && label.starts_with(key)
                        && label.as_bytes()[key.len()] == b':'
                }
            }
        };
    }
    let Some(local) = label.strip_prefix(context) else {
        return false;
    };
    match scope {
        LabelScope::Label => {
            local == key
                || (local.len() > key.len()
                    && local.ends_with(key)
                    && local.as_bytes()[local.len() - key.len() - 1] == b':')
        }
        LabelScope::Namespace => {
            let key = key.trim_end_matches(':');
            if key.is_empty() {
                return false;
            }
            // Namespaces are every component but the last (the name).
            let ns = match local.rfind(':') {
                Some(i) => &local[..i],
                None => return false,
            };
            let comps: Vec<&str> = ns.split(':').collect();
            let want: Vec<&str> = key.split(':').collect();
            comps.windows(want.len()).any(|w| w == want.as_slice())
        }
    }
}

/// Labels a request carries during evaluation: those surely added, and those
/// that might have been (from rules whose match was undetermined), so that a
/// label match on the latter is itself undetermined rather than a silent miss.
#[derive(Clone, Debug, Default)]
pub struct LabelSet {
    pub sure: Vec<String>,
    /// Exact labels, or prefixes ending in `:` standing for a whole namespace.
    pub maybe: Vec<String>,
}

/// Result of a label lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Has {
    Yes,
    No,
    Maybe,
}

impl LabelSet {
    pub fn add(&mut self, label: &str) {
        if !self.sure.iter().any(|l| l == label) {
            self.sure.push(label.to_string());
        }
    }

    pub fn add_maybe(&mut self, label_or_prefix: &str) {
        if !self.maybe.iter().any(|l| l == label_or_prefix) {
            self.maybe.push(label_or_prefix.to_string());
        }
    }

    pub fn lookup(&self, scope: LabelScope, key: &str, context: &str) -> Has {
        if self.sure.iter().any(|l| matches(scope, key, context, l)) {
            return Has::Yes;
        }
        let could = self.maybe.iter().any(|m| {
            if m.ends_with(':') {
                // A whole namespace might carry labels: any key in or under it
                // (or naming it) could match.
                let qualified = if key.starts_with(QUALIFIED) {
                    key.to_string()
                } else {
                    format!("{context}{key}")
                };
                qualified.starts_with(m.as_str())
                    || m.starts_with(qualified.as_str())
                    || !key.starts_with(QUALIFIED) && m.starts_with(context)
            } else {
                matches(scope, key, context, m)
            }
        });
        if could {
            Has::Maybe
        } else {
            Has::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACL: &str = "awswaf:111122223333:webacl:testWebACL:";

    #[test]
    fn aws_documented_examples() {
        let l = LabelScope::Label;
        let n = LabelScope::Namespace;
        let key = "header:encoding:utf8";
        assert!(matches(
            l,
            key,
            ACL,
            "awswaf:111122223333:webacl:testWebACL:header:encoding:utf8"
        ));
        assert!(matches(
            l,
            key,
            ACL,
            "awswaf:111122223333:webacl:testWebACL:testNS1:testNS2:header:encoding:utf8"
        ));
        assert!(!matches(
            l,
            key,
            ACL,
            "awswaf:111122223333:webacl:testWebACL:header:encoding2:utf8"
        ));
        assert!(!matches(
            l,
            key,
            ACL,
            "awswaf:111122223333:rulegroup:productionRules:header:encoding:utf8"
        ));
        assert!(matches(
            n,
            "header:encoding:",
            ACL,
            "awswaf:111122223333:webacl:testWebACL:header:encoding:utf8"
        ));
        assert!(!matches(
            n,
            "header:encoding:",
            ACL,
            "awswaf:444455556666:webacl:testWebACL:header:encoding:utf8"
        ));
        assert!(!matches(
            n,
            "header:encoding:",
            ACL,
            "awswaf:managed:aws:managed-rule-set:header:encoding:utf8"
        ));
        let mrs = "awswaf:managed:aws:managed-rule-set:header:";
        assert!(matches(
            n,
            mrs,
            ACL,
            "awswaf:managed:aws:managed-rule-set:header:encoding:utf8"
        ));
        assert!(matches(
            n,
            mrs,
            ACL,
            "awswaf:managed:aws:managed-rule-set:header:encoding:unicode"
        ));
        assert!(!matches(
            n,
            mrs,
            ACL,
            "awswaf:managed:aws:managed-rule-set:query:badstring"
        ));
        let full = "awswaf:111122223333:rulegroup:testRules:header:encoding:utf8";
        assert!(matches(l, full, ACL, full));
        assert!(!matches(
            l,
            full,
            ACL,
            "awswaf:111122223333:rulegroup:testRules:x:header:encoding:utf8"
        ));
    }

    #[test]
    fn namespace_does_not_match_the_name() {
        assert!(!matches(
            LabelScope::Namespace,
            "utf8:",
            ACL,
            &format!("{ACL}header:utf8")
        ));
        assert!(!matches(
            LabelScope::Label,
            "8",
            ACL,
            &format!("{ACL}header:utf8")
        ));
    }

    #[test]
    fn maybe_labels_make_lookups_undetermined() {
        let mut s = LabelSet::default();
        s.add(&format!("{ACL}a"));
        s.add_maybe(&format!("{ACL}b"));
        s.add_maybe("awswaf:clientip:geo:");
        assert_eq!(s.lookup(LabelScope::Label, "a", ACL), Has::Yes);
        assert_eq!(s.lookup(LabelScope::Label, "b", ACL), Has::Maybe);
        assert_eq!(s.lookup(LabelScope::Label, "c", ACL), Has::No);
        assert_eq!(
            s.lookup(LabelScope::Label, "awswaf:clientip:geo:country:US", ACL),
            Has::Maybe
        );
        assert_eq!(
            s.lookup(LabelScope::Label, "awswaf:managed:aws:x:y", ACL),
            Has::No
        );
    }
}
