//! Inventory entries as resources, so policies select them like template
//! resources: `for resource "Deadbolt::Inventory::Entry" as e`. Each inventory
//! file becomes one document whose resources are its entries, in file order,
//! at the line of their first package; the entry's results point into the
//! inventory, where the vulnerable package is listed.

use std::sync::Arc;

use super::Inventory;
use crate::doc::{Entry, Node, Pos, Resource, Source, Template, TemplateKind, Value};

/// The resource type of an inventory entry (see `schema::PSEUDO_TYPES`).
pub const ENTRY_TYPE: &str = "Deadbolt::Inventory::Entry";

fn entry(key: &str, value: Value) -> Entry {
    Entry {
        key: key.to_string(),
        key_pos: value.pos,
        value,
    }
}

/// The entries of `inv` as a document: properties `os` (when known),
/// `package_count` and `inventory` (the file).
pub fn template(inv: &Inventory) -> Template {
    let resources = inv
        .entries
        .iter()
        .map(|e| {
            let pos = e.pos;
            let mut props = Vec::with_capacity(3);
            if let Some(os) = &e.os {
                props.push(entry("os", Value::str(os.clone(), pos)));
            }
            props.push(entry(
                "package_count",
                Value::new(Node::Int(e.packages.len() as i64), pos),
            ));
            props.push(entry("inventory", Value::str(inv.path.clone(), pos)));
            Resource {
                id: e.resource.clone(),
                rtype: ENTRY_TYPE.to_string(),
                source: Source::CloudFormation,
                pos,
                props: Some(Value::new(Node::Map(props), pos)),
                props_pos: pos,
                metadata: None,
                condition: None,
                module: String::new(),
                deletion_policy: None,
                update_replace_policy: None,
                unknown: None,
            }
        })
        .collect();
    Template {
        path: Arc::from(inv.path.as_str()),
        doc_index: 0,
        kind: TemplateKind::CloudFormation,
        resources,
        parameters: Default::default(),
        conditions: Default::default(),
        mappings: None,
        root: Value::new(Node::Null, Pos::new(1, 1)),
        errors: Vec::new(),
        memo: Default::default(),
    }
}
