//! Terraform adapter (placeholder until the next commit): plans are read by
//! the same model.

use super::model::Network;
use crate::doc::Template;
use crate::inspector::resolve::Resolve;

pub fn adapt(_tpl: &Template, _res: &dyn Resolve) -> Network {
    Network::default()
}
