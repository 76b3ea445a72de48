//! Spark SQL (4.0 and later, for VARIANT): Java regular expressions,
//! backslash escapes in string literals, `collect_set` for distinct counts
//! over windows, `instr` for `strpos`.

use super::dialect::{Dialect, JsonKind};

pub struct Spark;

impl Dialect for Spark {
    /// Spark processes backslash escapes in string literals.
    fn lit(&self, s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    fn ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn regex_like(&self, s: &str, pattern: &str) -> String {
        format!("({s} RLIKE {})", self.lit(pattern))
    }

    fn strpos(&self, hay: &str, needle: &str) -> String {
        format!("instr({hay}, {needle})")
    }

    fn file_column(&self) -> String {
        "input_file_name()".to_string()
    }

    fn varchar(&self) -> &'static str {
        "STRING"
    }

    fn epoch_days(&self, ymd: &str) -> String {
        format!("datediff(TRY_CAST({ymd} AS DATE), DATE'1970-01-01')")
    }

    /// `chr` is modulo 256 in Spark: other characters come from their UTF-8 bytes.
    fn chr(&self, cp: u32) -> String {
        if cp < 128 {
            return format!("chr({cp})");
        }
        let c = char::from_u32(cp).unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        let hex: String = c
            .encode_utf8(&mut buf)
            .bytes()
            .map(|b| format!("{b:02X}"))
            .collect();
        format!("decode(unhex('{hex}'), 'UTF-8')")
    }

    /// JSON documents as Spark 4's VARIANT: kinds by `schema_of_variant`,
    /// members and elements by `try_variant_get`. A document with a repeated
    /// key does not parse (`try_parse_json`): unknown, where the native
    /// engine reads the first.
    fn json_parse(&self, text: &str) -> String {
        format!("try_parse_json({text})")
    }

    fn json_member(&self, j: &str, key: &str) -> String {
        format!("try_variant_get({j}, '$.{key}')")
    }

    fn json_index(&self, j: &str, i: usize) -> String {
        format!("try_variant_get({j}, '$[{i}]')")
    }

    fn json_is(&self, j: &str, kind: JsonKind) -> String {
        let t = format!("schema_of_variant({j})");
        match kind {
            JsonKind::String => format!("{t} = 'STRING'"),
            JsonKind::Bool => format!("{t} = 'BOOLEAN'"),
            JsonKind::Null => format!("{t} = 'VOID'"),
            JsonKind::Array => format!("{t} LIKE 'ARRAY%'"),
            JsonKind::Object => format!("{t} LIKE 'OBJECT%'"),
            JsonKind::Number => format!(
                "({t} NOT IN ('STRING', 'BOOLEAN', 'VOID') AND {t} NOT LIKE 'ARRAY%' AND {t} NOT LIKE 'OBJECT%')"
            ),
        }
    }

    fn json_scalar(&self, j: &str) -> String {
        format!("try_variant_get({j}, '$', 'string')")
    }

    fn json_text(&self, j: &str) -> String {
        format!("to_json({j})")
    }

    fn json_elements(&self, j: &str) -> String {
        format!("try_variant_get({j}, '$', 'array<variant>')")
    }

    fn json_singleton(&self, j: &str) -> String {
        format!("array({j})")
    }

    fn json_empty_array(&self) -> String {
        "CAST(array() AS array<variant>)".to_string()
    }

    /// Spark's `split` takes a regular expression (`%` is none) and keeps trailing empty pieces.
    fn url_decode(&self, s: &str) -> String {
        let parts = format!("split(replace({s}, '+', ' '), '%', -1)");
        format!(
            "(element_at({parts}, 1) || array_join(transform(slice({parts}, 2, size({parts})), db_p -> {}), ''))",
            super::dialect::decode_piece(self, "db_p")
        )
    }

    /// Correlated subqueries in a projection become joins that Spark runs
    /// slowly, and subqueries cannot sit in lambdas: each list is collected
    /// once into a one-row table joined to the records, and searched per record.
    fn collected_networks(&self, table: &str, kind: &str, name: &str) -> Option<String> {
        Some(format!(
            "SELECT collect_list(named_struct('f', family, 'sh', start_hi, 'sl', start_lo, 'eh', end_hi, 'el', end_lo)) \
             FROM {table} WHERE kind = {kind} AND list_name = {name}"
        ))
    }

    fn in_network_array(&self, col: &str, fam: &str, hi: &str, lo: &str) -> String {
        format!(
            "exists({col}, db_n -> db_n.f = {fam} AND ({}))",
            super::dialect::range_test("db_n.sh", "db_n.sl", "db_n.eh", "db_n.el", hi, lo)
        )
    }

    fn collected_domains(&self, table: &str, kind: &str, name: &str) -> Option<String> {
        Some(format!(
            "SELECT collect_list(domain) FROM {table} WHERE kind = {kind} AND list_name = {name}"
        ))
    }

    fn in_domain_array(&self, col: &str, dom: &str) -> String {
        format!(
            "exists({col}, db_d -> {})",
            super::dialect::suffix_test(dom, "db_d")
        )
    }

    fn list_given(&self, table: &str, kind: &str, name: &str) -> String {
        format!("((SELECT count(*) FROM {table} WHERE kind = {kind} AND list_name = {name}) > 0)")
    }

    /// Spark pushes a filter through projections by substituting their
    /// aliases, without regard to cost: over the address stages that inlines
    /// each stage into the next, megabytes of expression. A non-deterministic
    /// filter over a column of the record stage stops it there.
    fn filter_barrier(&self) -> Option<(&'static str, &'static str)> {
        Some(("rand() AS db_barrier", " AND db_barrier >= 0"))
    }

    fn array_len(&self, arr: &str) -> String {
        format!("size({arr})")
    }

    fn entropy(&self, s: &str) -> String {
        let p = format!("((length({s}) - length(replace({s}, db_c, ''))) / length({s}))");
        format!(
            "aggregate(array_distinct(regexp_extract_all({s}, '(?s).', 0)), CAST(0 AS DOUBLE), \
             (db_acc, db_c) -> db_acc - {p} * log2({p}))"
        )
    }

    fn count_distinct_over(&self, x: &str, over: &str) -> String {
        format!("size(collect_set({x}) OVER ({over}))")
    }

    fn min_by(&self, v: &str, order: &[&str]) -> String {
        format!("min_by({v}, struct({}))", order.join(", "))
    }
}
