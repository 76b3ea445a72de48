//! The AWS WAF text transformations, applied to a request component before it is
//! inspected. Semantics follow the AWS WAF developer guide; where it is silent
//! (edge cases of the decoders) they follow ModSecurity, whose transformation test
//! vectors (owasp-modsecurity/secrules-language-tests) pin them in
//! `tests/waf_transformations.rs`.
//!
//! Every transformation works on bytes: decoders can produce any byte value and the
//! inspections after them (byte match, libinjection) are byte-oriented too. Each
//! function returns `None` when the input would come out unchanged, so the common
//! case (nothing to decode) never allocates.

mod decode;
mod path;
mod text;

use std::borrow::Cow;

use md5::Digest;

/// One text transformation type, as named in the WAFv2 API (`URL_DECODE`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransformType {
    None,
    CompressWhiteSpace,
    HtmlEntityDecode,
    Lowercase,
    CmdLine,
    UrlDecode,
    Base64Decode,
    HexDecode,
    Md5,
    ReplaceComments,
    EscapeSeqDecode,
    SqlHexDecode,
    CssDecode,
    JsDecode,
    NormalizePath,
    NormalizePathWin,
    RemoveNulls,
    ReplaceNulls,
    Base64DecodeExt,
    UrlDecodeUni,
    Utf8ToUnicode,
    // Newer API additions with ModSecurity equivalents.
    RemoveWhitespace,
    Trim,
    TrimLeft,
    TrimRight,
    RemoveCommentsChar,
    Uppercase,
    Sha256,
}

/// API name and variant, in the order of the API's enum.
const NAMES: &[(&str, TransformType)] = &[
    ("NONE", TransformType::None),
    ("COMPRESS_WHITE_SPACE", TransformType::CompressWhiteSpace),
    ("HTML_ENTITY_DECODE", TransformType::HtmlEntityDecode),
    ("LOWERCASE", TransformType::Lowercase),
    ("CMD_LINE", TransformType::CmdLine),
    ("URL_DECODE", TransformType::UrlDecode),
    ("BASE64_DECODE", TransformType::Base64Decode),
    ("HEX_DECODE", TransformType::HexDecode),
    ("MD5", TransformType::Md5),
    ("REPLACE_COMMENTS", TransformType::ReplaceComments),
    ("ESCAPE_SEQ_DECODE", TransformType::EscapeSeqDecode),
    ("SQL_HEX_DECODE", TransformType::SqlHexDecode),
    ("CSS_DECODE", TransformType::CssDecode),
    ("JS_DECODE", TransformType::JsDecode),
    ("NORMALIZE_PATH", TransformType::NormalizePath),
    ("NORMALIZE_PATH_WIN", TransformType::NormalizePathWin),
    ("REMOVE_NULLS", TransformType::RemoveNulls),
    ("REPLACE_NULLS", TransformType::ReplaceNulls),
    ("BASE64_DECODE_EXT", TransformType::Base64DecodeExt),
    ("URL_DECODE_UNI", TransformType::UrlDecodeUni),
    ("UTF8_TO_UNICODE", TransformType::Utf8ToUnicode),
    ("REMOVE_WHITESPACE", TransformType::RemoveWhitespace),
    ("TRIM", TransformType::Trim),
    ("TRIM_LEFT", TransformType::TrimLeft),
    ("TRIM_RIGHT", TransformType::TrimRight),
    ("REMOVE_COMMENTS_CHAR", TransformType::RemoveCommentsChar),
    ("UPPERCASE", TransformType::Uppercase),
    ("SHA256", TransformType::Sha256),
];

/// Types the API accepts but whose semantics AWS does not document, so deadbolt
/// refuses them rather than guess.
pub const UNSUPPORTED: &[&str] = &["CMD_LINE_WIN", "CMD_LINE_UNIX", "JS_DECODE_EXT"];

impl TransformType {
    /// The variant for an API name (`URL_DECODE`), case-sensitive as in the API.
    pub fn from_name(name: &str) -> Option<TransformType> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .unwrap_or("NONE")
    }

    /// Every supported API name, for messages.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }

    /// The transformed value, or `None` when it equals the input.
    pub fn apply(self, input: &[u8]) -> Option<Vec<u8>> {
        use TransformType as T;
        match self {
            T::None => None,
            T::CompressWhiteSpace => text::compress_whitespace(input),
            T::HtmlEntityDecode => decode::html_entity(input),
            T::Lowercase => text::lowercase(input),
            T::Uppercase => text::uppercase(input),
            T::CmdLine => text::cmd_line(input),
            T::UrlDecode => decode::url(input, false),
            T::UrlDecodeUni => decode::url(input, true),
            T::Base64Decode => decode::base64(input),
            T::Base64DecodeExt => decode::base64_forgiving(input),
            T::HexDecode => decode::hex(input),
            T::SqlHexDecode => decode::sql_hex(input),
            T::EscapeSeqDecode => decode::escape_seq(input),
            T::JsDecode => decode::js(input),
            T::CssDecode => decode::css(input),
            T::Utf8ToUnicode => decode::utf8_to_unicode(input),
            T::ReplaceComments => text::replace_comments(input),
            T::RemoveCommentsChar => text::remove_comment_chars(input),
            T::NormalizePath => path::normalize(input, false),
            T::NormalizePathWin => path::normalize(input, true),
            T::RemoveNulls => text::remove_nulls(input),
            T::ReplaceNulls => text::replace_nulls(input),
            T::RemoveWhitespace => text::remove_whitespace(input),
            T::Trim => text::trim(input, true, true),
            T::TrimLeft => text::trim(input, true, false),
            T::TrimRight => text::trim(input, false, true),
            T::Md5 => Some(md5::Md5::digest(input).to_vec()),
            T::Sha256 => Some(sha2::Sha256::digest(input).to_vec()),
        }
    }
}

/// The transformations of one statement, in the order they run (lowest priority
/// first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transforms {
    steps: Vec<TransformType>,
}

impl Transforms {
    /// From (priority, type) pairs; the caller has already rejected equal priorities.
    pub fn new(mut steps: Vec<(i64, TransformType)>) -> Self {
        steps.sort_by_key(|(p, _)| *p);
        Transforms {
            steps: steps
                .into_iter()
                .map(|(_, t)| t)
                .filter(|t| *t != TransformType::None)
                .collect(),
        }
    }

    pub fn none() -> Self {
        Transforms::default()
    }

    /// From types already in order (used by the managed rule approximations).
    pub fn of(steps: &[TransformType]) -> Self {
        Transforms {
            steps: steps.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn steps(&self) -> &[TransformType] {
        &self.steps
    }

    /// Runs every step in order; borrows the input when nothing changed it.
    pub fn apply<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
        for t in &self.steps {
            if let Some(next) = t.apply(&cur) {
                cur = Cow::Owned(next);
            }
        }
        cur
    }
}

/// Value of an ASCII hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in TransformType::all_names() {
            assert_eq!(TransformType::from_name(name).unwrap().name(), name);
        }
        assert_eq!(TransformType::all_names().count(), 28);
        assert!(TransformType::from_name("url_decode").is_none());
    }

    #[test]
    fn pipeline_runs_in_priority_order() {
        // URL_DECODE then LOWERCASE vs the reverse give the same here, but
        // BASE64 then URL decode is order-sensitive.
        let t = Transforms::new(vec![
            (5, TransformType::Lowercase),
            (1, TransformType::UrlDecode),
        ]);
        assert_eq!(&*t.apply(b"%41B"), b"ab");
        let t = Transforms::new(vec![
            (2, TransformType::UrlDecode),
            (1, TransformType::Base64Decode),
        ]);
        // base64("%41") = "JTQx"
        assert_eq!(&*t.apply(b"JTQx"), b"A");
    }

    #[test]
    fn unchanged_input_is_borrowed() {
        let t = Transforms::new(vec![
            (0, TransformType::UrlDecode),
            (1, TransformType::HtmlEntityDecode),
            (2, TransformType::Lowercase),
        ]);
        assert!(matches!(t.apply(b"plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn none_and_uppercase() {
        assert_eq!(TransformType::None.apply(b"AbC"), None);
        assert_eq!(
            TransformType::Uppercase.apply(b"AbC\xe9").unwrap(),
            b"ABC\xe9"
        );
        assert_eq!(TransformType::Uppercase.apply(b"ABC"), None);
    }

    #[test]
    fn hashes() {
        assert_eq!(
            hex::encode(TransformType::Md5.apply(b"").unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hex::encode(TransformType::Sha256.apply(b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
