//! Trino, and Athena (engine version 3, which is Trino): the default spellings
//! of [`Dialect`]. Athena's only differences are in the table DDL.

use super::dialect::Dialect;

pub struct Trino;

impl Dialect for Trino {}

pub struct Athena;

impl Dialect for Athena {}
