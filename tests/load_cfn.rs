//! CloudFormation loading end to end: positions are exact, YAML and JSON agree.

use std::path::{Path, PathBuf};

use deadbolt::doc::{Node, Pos, Template, TemplateKind, Value};
use deadbolt::load::{load_inputs, load_source};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/load")
        .join(name)
}

fn load(name: &str) -> Vec<Template> {
    let out = load_inputs(&[fixture(name)]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    out.templates
}

fn props<'t>(t: &'t Template, id: &str) -> &'t Value {
    let r = &t.resources[t.resource_index(id).unwrap()];
    r.props.as_ref().unwrap()
}

/// The value without positions, to compare YAML and JSON forms.
fn shape(v: &Value) -> serde_json::Value {
    match &v.node {
        Node::Null => serde_json::Value::Null,
        Node::Bool(b) => (*b).into(),
        Node::Int(i) => (*i).into(),
        Node::Float(f) => (*f).into(),
        Node::Str(s) => s.as_str().into(),
        Node::Seq(items) => items.iter().map(shape).collect(),
        Node::Map(entries) => {
            let mut m = serde_json::Map::new();
            for e in entries {
                m.insert(e.key.clone(), shape(&e.value));
            }
            m.into()
        }
        Node::Computed { refs, .. } => serde_json::json!({ "computed": refs }),
    }
}

#[test]
fn yaml_positions_are_exact() {
    let t = load("volumes.yaml");
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.kind, TemplateKind::CloudFormation);
    assert_eq!(t.doc_index, 0);
    assert!(t.path.ends_with("fixtures/load/volumes.yaml"));
    let ids: Vec<&str> = t.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["DataVolume", "Key", "AttachedVolume", "Bucket"]);

    let data = &t.resources[0];
    assert_eq!(data.rtype, "AWS::EC2::Volume");
    assert_eq!(data.pos, Pos::new(4, 3));
    assert_eq!(data.props_pos, Pos::new(6, 5));
    let enc = props(t, "DataVolume").entry("Encrypted").unwrap();
    assert_eq!(enc.key_pos, Pos::new(9, 7));
    assert_eq!(enc.value.pos, Pos::new(9, 18));
    assert_eq!(enc.value.node, Node::Bool(false));
    let kms = props(t, "DataVolume").entry("KmsKeyId").unwrap();
    assert_eq!(kms.key_pos, Pos::new(10, 7));
    assert_eq!(kms.value.pos, Pos::new(10, 17));
    let (f, arg) = kms.value.intrinsic().unwrap();
    assert_eq!((f, arg.as_str()), ("Ref", Some("KeyArn")));
    assert_eq!(arg.pos, Pos::new(10, 22));

    let attached = &t.resources[2];
    assert_eq!(attached.condition.as_deref(), Some("IsProd"));
    assert_eq!(
        attached
            .metadata
            .as_ref()
            .unwrap()
            .get("Owner")
            .unwrap()
            .as_str(),
        Some("storage-team")
    );
    assert_eq!(attached.props_pos, Pos::new(20, 5));
    let getatt = props(t, "AttachedVolume").get("KmsKeyId").unwrap();
    let (f, arg) = getatt.intrinsic().unwrap();
    assert_eq!(f, "Fn::GetAtt");
    let parts = arg.as_seq().unwrap();
    assert_eq!(parts[0].pos, Pos::new(24, 25));
    assert_eq!(parts[1].pos, Pos::new(24, 29));

    let bucket = &t.resources[3];
    assert!(bucket.props.is_none());
    assert_eq!(bucket.props_pos, bucket.pos);
    assert_eq!(bucket.pos, Pos::new(25, 3));

    assert_eq!(t.parameters["KeyArn"].pos, Pos::new(28, 3));
    assert_eq!(t.parameters["Env"].param_type.as_deref(), Some("String"));
    assert!(t.parameters["Env"].default.is_none());
    assert_eq!(t.conditions["IsProd"].pos, Pos::new(34, 11));
    assert!(t.mappings.as_ref().unwrap().get("Sizes").is_some());
}

#[test]
fn json_positions_are_exact() {
    let t = &load("volumes.json")[0];
    let data = &t.resources[0];
    assert_eq!(data.pos, Pos::new(5, 5));
    assert_eq!(data.props_pos, Pos::new(7, 7));
    let enc = props(t, "DataVolume").entry("Encrypted").unwrap();
    assert_eq!(enc.key_pos, Pos::new(10, 9));
    assert_eq!(enc.value.pos, Pos::new(10, 22));
    let kms = props(t, "DataVolume").entry("KmsKeyId").unwrap();
    assert_eq!(kms.value.pos, Pos::new(11, 21));
    assert_eq!(kms.value.entry("Ref").unwrap().key_pos, Pos::new(11, 22));
    assert_eq!(t.resources[3].pos, Pos::new(33, 5));
    assert_eq!(t.parameters["KeyArn"].pos, Pos::new(38, 5));
}

#[test]
fn yaml_and_json_forms_agree() {
    let y = &load("volumes.yaml")[0];
    let j = &load("volumes.json")[0];
    assert_eq!(shape(&y.root), shape(&j.root));
    assert_eq!(y.resources.len(), j.resources.len());
    for (a, b) in y.resources.iter().zip(&j.resources) {
        assert_eq!(
            (&a.id, &a.rtype, &a.condition),
            (&b.id, &b.rtype, &b.condition)
        );
        assert_eq!(a.props.as_ref().map(shape), b.props.as_ref().map(shape));
    }
}

#[test]
fn multi_document_yaml() {
    let t = load("multi.yaml");
    let docs: Vec<(usize, &str)> = t
        .iter()
        .map(|t| (t.doc_index, t.resources[0].id.as_str()))
        .collect();
    assert_eq!(docs, [(0, "First"), (2, "Second")]);
    assert_eq!(t[1].resources[0].pos, Pos::new(14, 3));
    assert_eq!(t[1].resources[0].props_pos, Pos::new(16, 5));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let t = &load("anchors.yaml")[0];
    let base = shape(props(t, "Base"));
    assert_eq!(
        base,
        serde_json::json!({"AvailabilityZone": "us-east-1a", "Encrypted": true, "Size": 10})
    );
    // Explicit keys win over merged ones.
    assert_eq!(
        shape(props(t, "Derived")),
        serde_json::json!({"AvailabilityZone": "us-east-1a", "Encrypted": true, "Size": 50})
    );
    assert_eq!(shape(props(t, "Copy")), base);
    // Earlier merge sources win over later ones.
    assert_eq!(
        shape(props(t, "Multi")),
        serde_json::json!({"AvailabilityZone": "us-east-1a", "Size": 10, "Iops": 3000, "Encrypted": false})
    );
    // Merged and aliased values keep the anchor's positions.
    let derived = props(t, "Derived");
    assert_eq!(derived.entry("Encrypted").unwrap().key_pos, Pos::new(7, 7));
    assert_eq!(derived.entry("Size").unwrap().key_pos, Pos::new(13, 7));
    assert_eq!(props(t, "Copy").pos, Pos::new(6, 7));
}

#[test]
fn every_short_form_tag() {
    let t = &load("short_tags.yaml")[0];
    let p = props(t, "Tagged");
    let f = |k: &str| {
        let (name, arg) = p
            .get(k)
            .unwrap()
            .intrinsic()
            .unwrap_or_else(|| panic!("{k}"));
        (name.to_string(), shape(arg))
    };
    use serde_json::json;
    assert_eq!(f("Ref"), ("Ref".into(), json!("Env")));
    assert_eq!(
        f("GetAttScalar"),
        ("Fn::GetAtt".into(), json!(["Key", "Arn"]))
    );
    assert_eq!(
        f("GetAttDotted"),
        ("Fn::GetAtt".into(), json!(["Stack", "Outputs.KeyArn"]))
    );
    assert_eq!(
        f("GetAttList"),
        ("Fn::GetAtt".into(), json!(["Key", "Arn"]))
    );
    assert_eq!(
        f("Sub"),
        (
            "Fn::Sub".into(),
            json!("arn:${AWS::Partition}:s3:::${Env}-bucket")
        )
    );
    assert_eq!(f("If"), ("Fn::If".into(), json!(["IsProd", "gp3", "gp2"])));
    assert_eq!(f("Join"), ("Fn::Join".into(), json!(["-", ["a", "b"]])));
    // Templates are YAML 1.1, as CloudFormation reads them: a plain `y` is true.
    assert_eq!(f("Select"), ("Fn::Select".into(), json!([1, ["x", true]])));
    assert_eq!(f("Split"), ("Fn::Split".into(), json!([",", "a,b"])));
    assert_eq!(
        f("FindInMap"),
        ("Fn::FindInMap".into(), json!(["Sizes", "prod", "Size"]))
    );
    assert_eq!(
        f("ImportValue"),
        ("Fn::ImportValue".into(), json!("shared-key-arn"))
    );
    assert_eq!(f("Base64"), ("Fn::Base64".into(), json!("#!/bin/bash")));
    assert_eq!(f("GetAZs"), ("Fn::GetAZs".into(), json!("")));
    assert_eq!(f("Cidr"), ("Fn::Cidr".into(), json!(["10.0.0.0/16", 4, 8])));
    assert_eq!(
        f("Transform"),
        (
            "Fn::Transform".into(),
            json!({"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}})
        )
    );
    assert_eq!(
        f("ToJsonString"),
        ("Fn::ToJsonString".into(), json!({"a": 1}))
    );
    assert_eq!(f("Length"), ("Fn::Length".into(), json!([1, 2])));
    assert_eq!(
        f("Block"),
        (
            "Fn::If".into(),
            json!(["IsProd", {"Name": "prod"}, {"Name": "dev"}])
        )
    );
    // An unknown tag keeps its long form, so policies see an unsupported function.
    assert_eq!(f("Unknown"), ("Fn::Custom".into(), json!(42)));

    let c = |k: &str| shape(&t.conditions[k]);
    assert_eq!(c("IsProd"), json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}));
    assert_eq!(c("NotProd"), json!({"Fn::Not": [{"Condition": "IsProd"}]}));
    assert_eq!(
        c("Either"),
        json!({"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "NotProd"}]})
    );
    assert_eq!(
        c("Both"),
        json!({"Fn::And": [{"Condition": "IsProd"}, {"Condition": "NotProd"}]})
    );

    // The long-form key sits at the tag; the argument where it starts.
    let block = p.entry("Block").unwrap();
    assert_eq!(block.key_pos, Pos::new(28, 7));
    assert_eq!(block.value.pos, Pos::new(28, 14));
    assert_eq!(
        block.value.entry("Fn::If").unwrap().key_pos,
        Pos::new(28, 14)
    );
    assert_eq!(block.value.get("Fn::If").unwrap().pos, Pos::new(29, 9));
}

#[test]
fn load_source_in_memory() {
    let src = std::fs::read_to_string(fixture("volumes.yaml")).unwrap();
    let t = load_source("mem.yaml", &src).unwrap();
    assert_eq!(&*t[0].path, "mem.yaml");
    assert_eq!(t[0].resources.len(), 4);
    assert!(load_source("x.yaml", "just: data\n").unwrap().is_empty());
}

#[test]
fn directory_walk_is_sorted_and_deterministic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/load");
    let a = load_inputs(std::slice::from_ref(&dir));
    let b = load_inputs(&[dir]);
    let key = |t: &Template| (t.path.to_string(), t.doc_index);
    let ka: Vec<_> = a.templates.iter().map(key).collect();
    let kb: Vec<_> = b.templates.iter().map(key).collect();
    assert_eq!(ka, kb);
    let mut sorted = ka.clone();
    sorted.sort();
    assert_eq!(ka, sorted);
    let names: Vec<String> = ka
        .iter()
        .map(|(p, i)| format!("{}#{i}", p.rsplit('/').next().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "anchors.yaml#0",
            // Its broken resource is an error; its good one is still scanned.
            "bad_resource.yaml#0",
            "multi.yaml#0",
            "multi.yaml#2",
            "plan_basic.json#0",
            "short_tags.yaml#0",
            "volumes.json#0",
            "volumes.yaml#0"
        ]
    );
    // The broken fixtures under errors/ are reported, and do not stop the rest.
    assert!(!a.errors.is_empty());
    assert!(a.errors.iter().all(|e| e.path.contains("/errors/")));
}
