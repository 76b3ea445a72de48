//! How each SQL engine spells what the compiled queries need. The default
//! methods are Trino's (and Athena engine version 3's); DuckDB and Spark
//! override what they spell differently.
//!
//! Everything here is kept to constructs whose meaning is the same in every
//! engine: regular expressions only in the syntax common to RE2 and Java (see
//! `regex.rs`), no integer division (DuckDB's `/` on integers is exact
//! division), strings compared byte for byte.

use super::Target;

pub trait Dialect: Sync {
    /// A string literal.
    fn lit(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    /// A quoted identifier (a column whose name is a keyword, like `end`).
    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// Whether `pattern` matches somewhere in `s` (unanchored, as Rust's `is_match`).
    fn regex_like(&self, s: &str, pattern: &str) -> String {
        format!("regexp_like({s}, {})", self.lit(pattern))
    }

    /// Replaces the (single, anchored) match of `pattern` in `s`.
    fn regex_replace(&self, s: &str, pattern: &str, with: &str) -> String {
        format!(
            "regexp_replace({s}, {}, {})",
            self.lit(pattern),
            self.lit(with)
        )
    }

    /// The file a row was read from.
    fn file_column(&self) -> String {
        "\"$path\"".to_string()
    }

    /// 1-based position of `needle` in `hay`, 0 when absent.
    fn strpos(&self, hay: &str, needle: &str) -> String {
        format!("strpos({hay}, {needle})")
    }

    fn varchar(&self) -> &'static str {
        "VARCHAR"
    }

    fn cast_text(&self, x: &str) -> String {
        format!("CAST({x} AS {})", self.varchar())
    }

    /// Text to a double, NULL when it is not a number.
    fn to_double(&self, x: &str) -> String {
        format!("TRY_CAST({x} AS DOUBLE)")
    }

    /// Days from 1970-01-01 to the date `YYYY-MM-DD` in `ymd`, NULL for an impossible date.
    fn epoch_days(&self, ymd: &str) -> String {
        format!("date_diff('day', DATE '1970-01-01', TRY_CAST({ymd} AS DATE))")
    }

    /// The character with this code point.
    fn chr(&self, cp: u32) -> String {
        format!("chr({cp})")
    }

    /// Whether the engine has the JSON value type the document functions need.
    fn json_support(&self) -> Result<(), String> {
        Ok(())
    }

    /// A JSON value parsed from text; NULL when the text is not JSON.
    fn json_parse(&self, text: &str) -> String {
        format!("try(json_parse({text}))")
    }

    /// A member of a JSON object (NULL when absent or when the value is not an object).
    fn json_member(&self, j: &str, key: &str) -> String {
        format!("json_extract({j}, {})", self.lit(&format!("$.{key}")))
    }

    /// An element of a JSON array.
    fn json_index(&self, j: &str, i: usize) -> String {
        format!("json_extract({j}, {})", self.lit(&format!("$[{i}]")))
    }

    /// Whether a (non-NULL) JSON value is of a kind.
    fn json_is(&self, j: &str, kind: JsonKind) -> String {
        let first = format!("substr(json_format({j}), 1, 1)");
        match kind {
            JsonKind::String => format!("{first} = '\"'"),
            JsonKind::Bool => format!("{first} IN ('t', 'f')"),
            JsonKind::Null => format!("{first} = 'n'"),
            JsonKind::Array => format!("{first} = '['"),
            JsonKind::Object => format!("{first} = '{{'"),
            JsonKind::Number => {
                format!("{first} IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')")
            }
        }
    }

    /// The text of a JSON string, number or boolean.
    fn json_scalar(&self, j: &str) -> String {
        format!("json_extract_scalar({j}, '$')")
    }

    /// A JSON value as JSON text.
    fn json_text(&self, j: &str) -> String {
        format!("json_format({j})")
    }

    /// The elements of a JSON array, as an array of JSON values.
    fn json_elements(&self, j: &str) -> String {
        format!("CAST({j} AS ARRAY(JSON))")
    }

    /// A one-element array of a JSON value.
    fn json_singleton(&self, j: &str) -> String {
        format!("ARRAY[{j}]")
    }

    fn json_empty_array(&self) -> String {
        "CAST(json_parse('[]') AS ARRAY(JSON))".to_string()
    }

    /// The elements of `arr` for which `body` (over `var`) is true.
    fn filter(&self, arr: &str, var: &str, body: &str) -> String {
        format!("filter({arr}, {var} -> {body})")
    }

    fn array_len(&self, arr: &str) -> String {
        format!("cardinality({arr})")
    }

    /// Percent-decoding as `eval::funcs::url_decode`: `+` is a space, `%XX`
    /// a byte, anything else after `%` kept as it is. The caller makes escapes
    /// of bytes 0 and 0x80 and above unknown (they are UTF-8 decoding, which
    /// the engines do differently). Each piece after a `%` starts with the
    /// escape's two digits when it is one.
    fn url_decode(&self, s: &str) -> String {
        let parts = format!("split(replace({s}, '+', ' '), '%')");
        format!(
            "(element_at({parts}, 1) || array_join(transform(slice({parts}, 2, cardinality({parts})), db_p -> {}), ''))",
            decode_piece(self, "db_p")
        )
    }

    /// Shannon entropy (bits per character) of a non-empty string.
    fn entropy(&self, s: &str) -> String {
        format!(
            "(SELECT -sum((CAST(length({s}) - length(replace({s}, db_c, '')) AS DOUBLE) / length({s})) \
             * log2(CAST(length({s}) - length(replace({s}, db_c, '')) AS DOUBLE) / length({s}))) \
             FROM UNNEST(array_distinct(regexp_extract_all({s}, '(?s).'))) AS db_u(db_c))"
        )
    }

    /// The distinct non-NULL values of `x` over a window.
    fn count_distinct_over(&self, x: &str, over: &str) -> String {
        format!("cardinality(array_distinct(filter(array_agg({x}) OVER ({over}), db_v -> db_v IS NOT NULL)))")
    }

    /// Whether (family, hi, lo) is in one of the list's ranges.
    fn in_networks(
        &self,
        table: &str,
        kind: &str,
        name: &str,
        fam: &str,
        hi: &str,
        lo: &str,
    ) -> String {
        format!(
            "EXISTS (SELECT 1 FROM {table} db_n WHERE db_n.kind = {kind} AND db_n.list_name = {name} AND db_n.family = {fam} \
             AND ({}))",
            range_test("db_n.start_hi", "db_n.start_lo", "db_n.end_hi", "db_n.end_lo", hi, lo)
        )
    }

    /// Whether the (normalised) domain or one of its parents is in the list.
    fn in_domains(&self, table: &str, kind: &str, name: &str, dom: &str) -> String {
        format!(
            "EXISTS (SELECT 1 FROM {table} db_d WHERE db_d.kind = {kind} AND db_d.list_name = {name} AND ({}))",
            suffix_test(dom, "db_d.domain")
        )
    }

    /// For engines that search lists as arrays: the one-row query that
    /// collects a list's ranges into a column.
    fn collected_networks(&self, _table: &str, _kind: &str, _name: &str) -> Option<String> {
        None
    }

    fn in_network_array(&self, _col: &str, _fam: &str, _hi: &str, _lo: &str) -> String {
        String::new()
    }

    fn collected_domains(&self, _table: &str, _kind: &str, _name: &str) -> Option<String> {
        None
    }

    fn in_domain_array(&self, _col: &str, _dom: &str) -> String {
        String::new()
    }

    fn list_given(&self, table: &str, kind: &str, name: &str) -> String {
        format!("EXISTS (SELECT 1 FROM {table} db_l WHERE db_l.kind = {kind} AND db_l.list_name = {name})")
    }

    /// A column, and a condition over it that always holds, that keep the
    /// engine from pushing the record filter down through the stages, if it
    /// would (inlining every stage's expressions into the next).
    fn filter_barrier(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// The value of `v` at the row with the smallest `order` (a list of columns).
    fn min_by(&self, v: &str, order: &[&str]) -> String {
        format!("min_by({v}, ROW({}))", order.join(", "))
    }
}

/// `start <= (hi, lo) <= end`, comparing the upper halves first.
pub fn range_test(sh: &str, sl: &str, eh: &str, el: &str, hi: &str, lo: &str) -> String {
    format!("({hi} > {sh} OR ({hi} = {sh} AND {lo} >= {sl})) AND ({hi} < {eh} OR ({hi} = {eh} AND {lo} <= {el}))")
}

/// The domain is `d` or ends in `.d`.
pub fn suffix_test(dom: &str, d: &str) -> String {
    format!("{dom} = {d} OR (length({dom}) > length({d}) AND substr({dom}, length({dom}) - length({d})) = '.' || {d})")
}

/// A piece of text after a `%`: its escape decoded, or `%` put back.
pub fn decode_piece(dia: &(impl Dialect + ?Sized), p: &str) -> String {
    let digit = |k: usize| {
        format!(
            "({} - 1)",
            dia.strpos("'0123456789abcdef'", &format!("lower(substr({p}, {k}, 1))"))
        )
    };
    format!(
        "CASE WHEN {} THEN chr(CAST({} * 16 + {} AS INTEGER)) || substr({p}, 3) ELSE '%' || {p} END",
        dia.regex_like(p, "\\A[0-7][0-9A-Fa-f]"),
        digit(1),
        digit(2)
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Number,
    Bool,
    Null,
    Array,
    Object,
}

pub fn for_target(t: Target) -> &'static dyn Dialect {
    match t {
        Target::DuckDb => &super::duckdb::DuckDb,
        Target::Trino => &super::trino::Trino,
        Target::Athena => &super::trino::Athena,
        Target::Spark => &super::spark::Spark,
    }
}
