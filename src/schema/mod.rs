//! CloudFormation resource schemas (property names and types) used by the checker.
