//! The built-in KMS: keys, crypto, key policies and grants, a crash-safe keystore,
//! envelope encryption of files, and an AWS-compatible JSON endpoint (`server`).

pub mod server;
