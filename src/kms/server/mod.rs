//! The AWS JSON 1.1 endpoint (`deadbolt kms serve`).
