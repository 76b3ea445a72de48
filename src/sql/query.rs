//! The per-record part of a query: the source table, then stages (CTEs) that
//! each add derived columns — parsed times, addresses, domains, JSON
//! documents — computed once and read by name by the stages after them.

use std::collections::HashMap;

use super::net::{DomainCols, IpCols};

/// Derived columns by stage. A column added at stage `k` can be read by
/// expressions placed at stage `k + 1` or later; stage 0 reads the table.
#[derive(Default)]
pub struct Stages {
    cols: Vec<Vec<(String, String)>>,
    counter: usize,
    ips: HashMap<String, IpCols>,
    domains: HashMap<String, DomainCols>,
    values: HashMap<String, (String, usize)>,
    /// One-row queries joined to every record, by query: (CTE, column).
    constants: Vec<(String, String, String)>,
}

impl Stages {
    pub fn add(&mut self, stage: usize, name: &str, sql: String) {
        while self.cols.len() <= stage {
            self.cols.push(Vec::new());
        }
        self.cols[stage].push((name.to_string(), sql));
    }

    /// A new column-name prefix (`db3_ip`): letters first, so every engine
    /// takes it unquoted, and unlike any column of the log tables.
    pub fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("db{}_{what}", self.counter)
    }

    /// Adds `sql` (placeable at `level`) as a column; the same expression is
    /// added once. Returns the column and the level at which it can be read.
    pub fn hoist(&mut self, sql: &str, level: usize, what: &str) -> (String, usize) {
        if let Some(v) = self.values.get(sql) {
            return v.clone();
        }
        let name = self.fresh(what);
        self.add(level, &name, sql.to_string());
        let v = (name, level + 1);
        self.values.insert(sql.to_string(), v.clone());
        v
    }

    /// A one-row query (a collected list) as a column of every record.
    pub fn constant(&mut self, query: &str, what: &str) -> String {
        if let Some((_, _, col)) = self.constants.iter().find(|(q, _, _)| q == query) {
            return col.clone();
        }
        let col = self.fresh(what);
        let cte = format!("c{}", self.constants.len());
        self.constants.push((query.to_string(), cte, col.clone()));
        col
    }

    pub fn cached_ip(&self, key: &str) -> Option<IpCols> {
        self.ips.get(key).cloned()
    }
    pub fn remember_ip(&mut self, key: String, c: IpCols) {
        self.ips.insert(key, c);
    }
    pub fn cached_domain(&self, key: &str) -> Option<DomainCols> {
        self.domains.get(key).cloned()
    }
    pub fn remember_domain(&mut self, key: String, c: DomainCols) {
        self.domains.insert(key, c);
    }

    /// The CTEs `s0 .. sN` (stage 0 reads `table` and keeps rows that pass
    /// `validity`), and the name of the last one.
    pub fn render(
        &self,
        table: &str,
        base: &[(String, String)],
        validity: Option<&str>,
    ) -> (Vec<String>, String) {
        let mut ctes: Vec<String> = self
            .constants
            .iter()
            .map(|(q, cte, col)| format!("{cte} AS (\n  SELECT ({q}) AS {col}\n)"))
            .collect();
        let joined: String = self
            .constants
            .iter()
            .map(|(_, cte, _)| format!(" CROSS JOIN {cte}"))
            .collect();
        let n = self.cols.len().max(1);
        for k in 0..n {
            let mut cols: Vec<String> = Vec::new();
            if k == 0 {
                cols.extend(base.iter().map(|(name, sql)| format!("{sql} AS {name}")));
            }
            if let Some(stage) = self.cols.get(k) {
                cols.extend(stage.iter().map(|(name, sql)| format!("{sql} AS {name}")));
            }
            let from = if k == 0 {
                format!("{table}{joined}")
            } else {
                format!("s{}", k - 1)
            };
            let list = if cols.is_empty() {
                String::new()
            } else {
                format!(",\n    {}", cols.join(",\n    "))
            };
            let filter = match (k, validity) {
                (0, Some(v)) => format!("\n  WHERE {v}"),
                _ => String::new(),
            };
            ctes.push(format!(
                "s{k} AS (\n  SELECT *{list}\n  FROM {from}{filter}\n)"
            ));
        }
        (ctes, format!("s{}", n - 1))
    }
}
