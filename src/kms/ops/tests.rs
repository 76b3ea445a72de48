//! Unit tests of reference parsing, alias names, pagination and grant constraints.

use serde_json::{json, Map};

use super::aliases::validate_alias_name;
use super::grants::at_least_as_strict;
use super::*;
use crate::kms::crypto::EncryptionContext;
use crate::kms::model::{GrantConstraints, StoreConfig};

fn cfg() -> StoreConfig {
    StoreConfig {
        format: 1,
        store_id: "s".into(),
        region: "us-east-1".into(),
        account: "111122223333".into(),
        created: 0.0,
        verifier: crate::kms::model::Sealed {
            nonce: String::new(),
            data: String::new(),
        },
        mac: None,
    }
}

#[test]
fn key_references() {
    let c = cfg();
    let me = Caller::local_admin("111122223333");
    let me_east = me.clone().in_region("us-east-1");
    let other = Caller::local_admin("444455556666");
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let key = |r: &str, who: &Caller, alias: bool| parse_ref(&c, who, r, alias);
    let msg = |r: Result<Ref, KmsError>| r.err().map(|e| (e.kind, e.message)).unwrap();
    assert!(matches!(key(id, &me, true), Ok(Ref::Key { id: k, region: None }) if k == id));
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
    assert!(
        matches!(key(&arn, &me, false), Ok(Ref::Key { id: k, region: Some(r) }) if k == id && r == "us-east-1")
    );
    assert!(matches!(key(&arn, &other, false), Ok(Ref::Key { .. })));
    assert!(matches!(key("alias/x", &me, true), Ok(Ref::Alias { name, .. }) if name == "alias/x"));
    assert!(key("alias/x", &me, false).is_err());
    assert!(key("alias/x", &other, true).is_err());
    assert!(key(id, &other, true).is_err());
    let aarn = "arn:aws:kms:us-east-1:111122223333:alias/x";
    assert!(matches!(key(aarn, &me, true), Ok(Ref::Alias { name, .. }) if name == "alias/x"));
    // An ARN of another region than the request's, as AWS words it.
    assert_eq!(
        msg(key(
            "arn:aws:kms:eu-west-1:111122223333:alias/x",
            &me_east,
            true
        )),
        ("NotFoundException", "Invalid arn eu-west-1".to_string())
    );
    assert_eq!(
        msg(key(&arn.replace("us-east-1", "us-west-2"), &me_east, true)),
        ("NotFoundException", "Invalid arn us-west-2".to_string())
    );
    // What is not a key id at all (recorded AWS answers).
    for bad in [
        "fake-key-id",
        "134f2428cec14b25a1ae9048164dba47",
        "mrk-fake-key-id",
    ] {
        assert_eq!(
            msg(key(bad, &me_east, true)),
            ("NotFoundException", format!("Invalid keyId '{bad}'"))
        );
    }
    assert!(key("mrk-d3b95762d3b95762d3b95762d3b95762", &me, true).is_ok());
    assert!(key("arn:aws:s3:::bucket", &me, true).is_err());
    assert_eq!(
        key("", &me, true).err().unwrap().kind,
        "ValidationException"
    );
    assert_eq!(
        aws_managed_alias("arn:aws:kms:us-east-1:111122223333:alias/aws/s3").as_deref(),
        Some("alias/aws/s3")
    );
    assert_eq!(aws_managed_alias("alias/aws/unknown"), None);
}

#[test]
fn alias_names() {
    assert!(validate_alias_name("alias/app-1_x/y").is_ok());
    for (n, kind) in [
        ("app", "ValidationException"),
        ("alias/", "InvalidAliasNameException"),
        ("alias/aws/x", "NotAuthorizedException"),
        ("alias/a:b", "ValidationException"),
        ("alias/a b", "ValidationException"),
        ("alias/é", "ValidationException"),
    ] {
        assert_eq!(validate_alias_name(n).unwrap_err().kind, kind, "{n}");
    }
}

#[test]
fn pagination() {
    let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
    let m = Map::new();
    let inp = Input(&m);
    let (page, next) = paginate(&inp, items.clone(), 2).unwrap();
    assert_eq!(page, vec![0, 1]);
    let mut m2 = Map::new();
    m2.insert("Marker".into(), json!(next.unwrap()));
    let (page, next) = paginate(&Input(&m2), items.clone(), 2).unwrap();
    assert_eq!(page, vec![2, 3]);
    m2.insert("Marker".into(), json!(next.unwrap()));
    let (page, next) = paginate(&Input(&m2), items, 2).unwrap();
    assert_eq!(page, vec![4]);
    assert!(next.is_none());
}

#[test]
fn grant_constraint_strictness() {
    let ctx = |p: &[(&str, &str)]| -> EncryptionContext {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let sub = |p| GrantConstraints {
        encryption_context_subset: Some(ctx(p)),
        encryption_context_equals: None,
    };
    let eq = |p| GrantConstraints {
        encryption_context_subset: None,
        encryption_context_equals: Some(ctx(p)),
    };
    assert!(at_least_as_strict(
        &sub(&[("a", "1"), ("b", "2")]),
        &sub(&[("a", "1")])
    ));
    assert!(!at_least_as_strict(
        &sub(&[("b", "2")]),
        &sub(&[("a", "1")])
    ));
    assert!(at_least_as_strict(&eq(&[("a", "1")]), &sub(&[("a", "1")])));
    assert!(!at_least_as_strict(&sub(&[("a", "1")]), &eq(&[("a", "1")])));
    assert!(sub(&[("a", "1")]).allow(Some(&ctx(&[("a", "1"), ("b", "2")]))));
    assert!(!eq(&[("a", "1")]).allow(Some(&ctx(&[("a", "1"), ("b", "2")]))));
    assert!(!sub(&[("a", "1")]).allow(None));
}
