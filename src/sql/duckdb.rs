//! DuckDB: RE2 regular expressions, lists and lambdas, the `json` extension
//! (loaded by default), window `count(DISTINCT ...)`.

use super::dialect::{Dialect, JsonKind};

pub struct DuckDb;

impl Dialect for DuckDb {
    fn regex_like(&self, s: &str, pattern: &str) -> String {
        format!("regexp_matches({s}, {})", self.lit(pattern))
    }

    /// Without the `g` option DuckDB replaces the first match only, which is
    /// the one match of an anchored pattern.
    fn regex_replace(&self, s: &str, pattern: &str, with: &str) -> String {
        format!(
            "regexp_replace({s}, {}, {})",
            self.lit(pattern),
            self.lit(with)
        )
    }

    /// `read_csv(..., filename = true)` and `read_json(..., filename = true)` add it.
    fn file_column(&self) -> String {
        "filename".to_string()
    }

    fn json_parse(&self, text: &str) -> String {
        format!("CASE WHEN json_valid({text}) THEN json({text}) END")
    }

    fn json_is(&self, j: &str, kind: JsonKind) -> String {
        let t = format!("json_type({j})");
        match kind {
            JsonKind::String => format!("{t} = 'VARCHAR'"),
            JsonKind::Bool => format!("{t} = 'BOOLEAN'"),
            JsonKind::Null => format!("{t} = 'NULL'"),
            JsonKind::Array => format!("{t} = 'ARRAY'"),
            JsonKind::Object => format!("{t} = 'OBJECT'"),
            JsonKind::Number => {
                format!("{t} NOT IN ('VARCHAR', 'BOOLEAN', 'NULL', 'ARRAY', 'OBJECT')")
            }
        }
    }

    fn json_scalar(&self, j: &str) -> String {
        format!("json_extract_string({j}, '$')")
    }

    fn json_text(&self, j: &str) -> String {
        format!("CAST({j} AS VARCHAR)")
    }

    fn json_elements(&self, j: &str) -> String {
        format!("CAST({j} AS JSON[])")
    }

    fn json_singleton(&self, j: &str) -> String {
        format!("[{j}]")
    }

    fn json_empty_array(&self) -> String {
        "CAST([] AS JSON[])".to_string()
    }

    fn filter(&self, arr: &str, var: &str, body: &str) -> String {
        format!("list_filter({arr}, lambda {var}: {body})")
    }

    fn url_decode(&self, s: &str) -> String {
        let parts = format!("string_split(replace({s}, '+', ' '), '%')");
        format!(
            "({parts}[1] || array_to_string(list_transform({parts}[2:], lambda db_p: {}), ''))",
            super::dialect::decode_piece(self, "db_p")
        )
    }

    fn array_len(&self, arr: &str) -> String {
        format!("len({arr})")
    }

    fn entropy(&self, s: &str) -> String {
        format!(
            "(SELECT -sum((CAST(length({s}) - length(replace({s}, db_c, '')) AS DOUBLE) / length({s})) \
             * log2(CAST(length({s}) - length(replace({s}, db_c, '')) AS DOUBLE) / length({s}))) \
             FROM unnest(list_distinct(regexp_extract_all({s}, '(?s).'))) AS db_u(db_c))"
        )
    }

    fn count_distinct_over(&self, x: &str, over: &str) -> String {
        format!("count(DISTINCT {x}) OVER ({over})")
    }

    fn min_by(&self, v: &str, order: &[&str]) -> String {
        format!("arg_min({v}, ROW({}))", order.join(", "))
    }
}
