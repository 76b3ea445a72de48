//! Terraform plans: managed resources across modules, unknown values as Computed
//! with the resources their configuration referenced.

use std::path::Path;

use deadbolt::doc::{Node, Pos, Source, Template, TemplateKind};
use deadbolt::load::load_inputs;

fn plan() -> Template {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/load/plan_basic.json");
    let mut out = load_inputs(&[path]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.templates.len(), 1);
    out.templates.remove(0)
}

fn computed(refs: &[&str]) -> Node {
    Node::Computed {
        refs: refs.iter().map(|s| s.to_string()).collect(),
        configured: true,
    }
}

#[test]
fn managed_resources_from_all_modules() {
    let t = plan();
    assert_eq!(t.kind, TemplateKind::TerraformPlan);
    let ids: Vec<&str> = t.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "aws_ebs_volume.data",
            "aws_kms_key.main",
            "aws_s3_bucket.logs[0]",
            "module.storage.aws_ebs_volume.cache",
            "module.storage.aws_ebs_volume.plain",
            "module.storage.aws_ebs_volume.shared",
            "module.storage.aws_kms_key.this",
        ]
    );
    assert!(t.resources.iter().all(|r| r.source == Source::Terraform));
    let data = &t.resources[0];
    assert_eq!(data.rtype, "aws_ebs_volume");
    assert_eq!(data.module, "");
    assert_eq!(data.pos, Pos::new(8, 11)); // the "address" key
    assert_eq!(data.props_pos, Pos::new(14, 11));
    let cache = &t.resources[3];
    assert_eq!(cache.module, "module.storage");
    assert_eq!(cache.pos, Pos::new(83, 15));
    assert_eq!(cache.props_pos, Pos::new(89, 15));
}

#[test]
fn unknown_kms_key_is_computed_with_refs() {
    let t = plan();
    let props = |id: &str| {
        t.resources[t.resource_index(id).unwrap()]
            .props
            .as_ref()
            .unwrap()
    };

    let data = props("aws_ebs_volume.data");
    let kms = data.entry("kms_key_id").unwrap();
    assert_eq!(
        kms.value.node,
        computed(&["aws_kms_key.main.arn", "aws_kms_key.main"])
    );
    // Absent from `values`: positioned at the `values` key.
    assert_eq!(kms.key_pos, Pos::new(14, 11));
    assert_eq!(kms.value.pos, Pos::new(14, 11));
    // Known values are untouched, with their own positions.
    let enc = data.entry("encrypted").unwrap();
    assert_eq!(enc.value.node, Node::Bool(true));
    assert_eq!(enc.key_pos, Pos::new(16, 13));
    assert_eq!(enc.value.pos, Pos::new(16, 26));

    // Inside a module, references are qualified with the module address...
    assert_eq!(
        props("module.storage.aws_ebs_volume.cache")
            .get("kms_key_id")
            .unwrap()
            .node,
        computed(&[
            "module.storage.aws_kms_key.this.arn",
            "module.storage.aws_kms_key.this"
        ])
    );
    // ...and a module input is followed back to what the caller passed.
    assert_eq!(
        props("module.storage.aws_ebs_volume.shared")
            .get("kms_key_id")
            .unwrap()
            .node,
        computed(&["aws_kms_key.main.arn", "aws_kms_key.main"])
    );
    // Unknown without any configured expression: the provider's default.
    assert_eq!(
        props("module.storage.aws_ebs_volume.plain")
            .get("kms_key_id")
            .unwrap()
            .node,
        Node::Computed {
            refs: vec![],
            configured: false
        }
    );
    let bucket = props("aws_s3_bucket.logs[0]");
    assert_eq!(
        bucket
            .get("server_side_encryption_configuration")
            .unwrap()
            .node,
        Node::Computed {
            refs: vec![],
            configured: false
        }
    );
    assert_eq!(
        bucket.get("bucket").unwrap().as_str(),
        Some("logs-111122223333-0")
    );
    assert_eq!(
        props("aws_kms_key.main").get("arn").unwrap().node,
        Node::Computed {
            refs: vec![],
            configured: false
        }
    );
}
