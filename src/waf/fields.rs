//! FieldToMatch: which parts of a request a statement inspects, with AWS WAF's
//! inspection limits (body 8 KB regional / 16-64 KB CloudFront, headers and
//! cookies 8 KB or 200 entries) and oversize handling.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use super::acl::{FieldToMatch, JsonFallback, KeyPattern, MatchScope, Oversize};
use super::json_body::{self, ParsedJson};
use super::request::Request;

/// Header and cookie inspection limits.
pub const MAP_BYTES_LIMIT: usize = 8 * 1024;
pub const MAP_COUNT_LIMIT: usize = 200;

/// One value to inspect, with the name it came from (header, argument, cookie,
/// JSON pointer) for match details.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub name: Option<Cow<'a, str>>,
    pub value: Cow<'a, [u8]>,
}

impl<'a> Item<'a> {
    fn new(name: Option<Cow<'a, str>>, value: &'a [u8]) -> Self {
        Item {
            name,
            value: Cow::Borrowed(value),
        }
    }
}

/// The values of a component, or a verdict that settles the statement without
/// inspecting (oversize MATCH/NO_MATCH, JSON fallback, missing fingerprint).
pub enum Extract<'a> {
    Items(Vec<Item<'a>>),
    Verdict(bool),
}

/// A request prepared for inspection: parsed query arguments, cookies and JSON
/// body, each computed once however many rules read them.
pub struct View<'r> {
    pub req: &'r Request,
    pub body_limit: usize,
    args: OnceCell<Vec<(&'r str, &'r str)>>,
    cookies: OnceCell<Vec<(&'r str, &'r str)>>,
    json: OnceCell<ParsedJson>,
    /// Oversize components met, in WAF log vocabulary (`REQUEST_BODY`, ...).
    pub oversize_fields: RefCell<Vec<&'static str>>,
}

impl<'r> View<'r> {
    pub fn new(req: &'r Request, body_limit: usize) -> Self {
        View {
            req,
            body_limit,
            args: OnceCell::new(),
            cookies: OnceCell::new(),
            json: OnceCell::new(),
            oversize_fields: RefCell::new(Vec::new()),
        }
    }

    /// Query arguments as (raw name, raw value); `a&b=1` gives `("a","")`.
    pub fn args(&self) -> &[(&'r str, &'r str)] {
        self.args.get_or_init(|| {
            self.req
                .args
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect()
        })
    }

    /// Cookies from every `Cookie` header, as (name, value).
    pub fn cookies(&self) -> &[(&'r str, &'r str)] {
        self.cookies.get_or_init(|| {
            self.req
                .header_values("cookie")
                .flat_map(|h| h.split(';'))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| c.split_once('=').unwrap_or((c, "")))
                .collect()
        })
    }

    fn json(&self) -> &ParsedJson {
        self.json.get_or_init(|| {
            let body = self.req.body.as_deref().unwrap_or_default();
            json_body::parse(&body[..body.len().min(self.body_limit)])
        })
    }

    fn note_oversize(&self, field: &'static str) {
        let mut f = self.oversize_fields.borrow_mut();
        if !f.contains(&field) {
            f.push(field);
        }
    }

    /// The values `field` names in this request.
    pub fn extract<'s>(&'s self, field: &'s FieldToMatch) -> Extract<'s> {
        let req = self.req;
        match field {
            FieldToMatch::SingleHeader(name) => {
                let mut values = req.header_values(name);
                let Some(first) = values.next() else {
                    return Extract::Items(Vec::new());
                };
                let value: Cow<'_, [u8]> = match req.header(name) {
                    Some(joined) if values.next().is_some() => Cow::Owned(joined.into_bytes()),
                    _ => Cow::Borrowed(first.as_bytes()),
                };
                Extract::Items(vec![Item {
                    name: Some(Cow::Borrowed(name.as_str())),
                    value,
                }])
            }
            FieldToMatch::SingleQueryArgument(name) => Extract::Items(
                self.args()
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(n, v)| Item::new(Some(Cow::Borrowed(*n)), v.as_bytes()))
                    .collect(),
            ),
            FieldToMatch::AllQueryArguments => Extract::Items(
                self.args()
                    .iter()
                    .map(|(n, v)| Item::new(Some(Cow::Borrowed(*n)), v.as_bytes()))
                    .collect(),
            ),
            FieldToMatch::UriPath => Extract::Items(vec![Item::new(None, req.uri.as_bytes())]),
            FieldToMatch::QueryString => {
                if req.args.is_empty() {
                    Extract::Items(Vec::new())
                } else {
                    Extract::Items(vec![Item::new(None, req.args.as_bytes())])
                }
            }
            FieldToMatch::Method => Extract::Items(vec![Item::new(None, req.method.as_bytes())]),
            FieldToMatch::Body { oversize } => {
                let body = match req.body.as_deref() {
                    Some(b) if !b.is_empty() => b,
                    _ => return Extract::Items(Vec::new()),
                };
                if body.len() > self.body_limit {
                    self.note_oversize("REQUEST_BODY");
                    match oversize {
                        Oversize::Match => return Extract::Verdict(true),
                        Oversize::NoMatch => return Extract::Verdict(false),
                        Oversize::Continue => {}
                    }
                }
                let n = body.len().min(self.body_limit);
                Extract::Items(vec![Item::new(None, &body[..n])])
            }
            FieldToMatch::JsonBody {
                paths,
                scope,
                invalid_fallback,
                oversize,
            } => self.json_body(paths.as_deref(), *scope, *invalid_fallback, *oversize),
            FieldToMatch::Headers {
                pattern,
                scope,
                oversize,
            } => self.headers(pattern, *scope, *oversize),
            FieldToMatch::Cookies {
                pattern,
                scope,
                oversize,
            } => self.cookie_items(pattern, *scope, *oversize),
            FieldToMatch::HeaderOrder { oversize } => {
                if req.headers.is_empty() {
                    return Extract::Items(Vec::new());
                }
                let mut names: Vec<&str> = req.headers.iter().map(|h| h.name.as_str()).collect();
                if names.len() > MAP_COUNT_LIMIT {
                    self.note_oversize("REQUEST_HEADERS");
                    match oversize {
                        Oversize::Match => return Extract::Verdict(true),
                        Oversize::NoMatch => return Extract::Verdict(false),
                        Oversize::Continue => names.truncate(MAP_COUNT_LIMIT),
                    }
                }
                Extract::Items(vec![Item {
                    name: None,
                    value: Cow::Owned(names.join(":").into_bytes()),
                }])
            }
            FieldToMatch::Ja3 { fallback_match } => match &req.ja3 {
                Some(v) => Extract::Items(vec![Item::new(None, v.as_bytes())]),
                None => Extract::Verdict(*fallback_match),
            },
            FieldToMatch::Ja4 { fallback_match } => match &req.ja4 {
                Some(v) => Extract::Items(vec![Item::new(None, v.as_bytes())]),
                None => Extract::Verdict(*fallback_match),
            },
            FieldToMatch::UriFragment { fallback_match } => match &req.fragment {
                Some(v) => Extract::Items(vec![Item::new(None, v.as_bytes())]),
                None => Extract::Verdict(*fallback_match),
            },
        }
    }

    fn json_body(
        &self,
        paths: Option<&[String]>,
        scope: MatchScope,
        fallback: Option<JsonFallback>,
        oversize: Oversize,
    ) -> Extract<'_> {
        let body = match self.req.body.as_deref() {
            Some(b) if !b.is_empty() => b,
            _ => return Extract::Items(Vec::new()),
        };
        if body.len() > self.body_limit {
            self.note_oversize("REQUEST_JSON_BODY");
            match oversize {
                Oversize::Match => return Extract::Verdict(true),
                Oversize::NoMatch => return Extract::Verdict(false),
                Oversize::Continue => {}
            }
        }
        let parsed = self.json();
        if !parsed.complete {
            match fallback {
                Some(JsonFallback::Match) => return Extract::Verdict(true),
                Some(JsonFallback::NoMatch) => return Extract::Verdict(false),
                Some(JsonFallback::EvaluateAsString) => {
                    let n = body.len().min(self.body_limit);
                    return Extract::Items(vec![Item::new(None, &body[..n])]);
                }
                None => {}
            }
        }
        let included = |path: &str| match paths {
            None => true,
            Some(ps) => ps.iter().any(|p| {
                path == p || (path.starts_with(p.as_str()) && path[p.len()..].starts_with('/'))
            }),
        };
        Extract::Items(
            parsed
                .elems
                .iter()
                .filter(|e| match scope {
                    MatchScope::All => true,
                    MatchScope::Key => e.is_key,
                    MatchScope::Value => !e.is_key,
                })
                .filter(|e| included(&e.path))
                .map(|e| Item::new(Some(Cow::Borrowed(e.path.as_str())), &e.text))
                .collect(),
        )
    }

    fn headers(&self, pattern: &KeyPattern, scope: MatchScope, oversize: Oversize) -> Extract<'_> {
        let headers = &self.req.headers;
        let total: usize = headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum();
        let mut limit = headers.len();
        if headers.len() > MAP_COUNT_LIMIT || total > MAP_BYTES_LIMIT {
            self.note_oversize("REQUEST_HEADERS");
            match oversize {
                Oversize::Match => return Extract::Verdict(true),
                Oversize::NoMatch => return Extract::Verdict(false),
                Oversize::Continue => {
                    let mut used = 0;
                    limit = 0;
                    for h in headers.iter().take(MAP_COUNT_LIMIT) {
                        used += h.name.len() + h.value.len() + 4;
                        if used > MAP_BYTES_LIMIT {
                            break;
                        }
                        limit += 1;
                    }
                }
            }
        }
        let keep = |name: &str| match pattern {
            KeyPattern::All => true,
            KeyPattern::Included(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
            KeyPattern::Excluded(names) => !names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        };
        let mut items = Vec::new();
        for h in headers[..limit].iter().filter(|h| keep(&h.name)) {
            let name = Some(Cow::Borrowed(h.name.as_str()));
            if scope != MatchScope::Value {
                items.push(Item::new(name.clone(), h.name.as_bytes()));
            }
            if scope != MatchScope::Key {
                items.push(Item::new(name, h.value.as_bytes()));
            }
        }
        Extract::Items(items)
    }

    fn cookie_items(
        &self,
        pattern: &KeyPattern,
        scope: MatchScope,
        oversize: Oversize,
    ) -> Extract<'_> {
        let cookies = self.cookies();
        let total: usize = self.req.header_values("cookie").map(str::len).sum();
        let mut limit = cookies.len();
        if cookies.len() > MAP_COUNT_LIMIT || total > MAP_BYTES_LIMIT {
            self.note_oversize("REQUEST_COOKIES");
            match oversize {
                Oversize::Match => return Extract::Verdict(true),
                Oversize::NoMatch => return Extract::Verdict(false),
                Oversize::Continue => {
                    let mut used = 0;
                    limit = 0;
                    for (n, v) in cookies.iter().take(MAP_COUNT_LIMIT) {
                        used += n.len() + v.len() + 2;
                        if used > MAP_BYTES_LIMIT {
                            break;
                        }
                        limit += 1;
                    }
                }
            }
        }
        // Cookie names are matched case-sensitively and exactly.
        let keep = |name: &str| match pattern {
            KeyPattern::All => true,
            KeyPattern::Included(names) => names.iter().any(|n| n == name),
            KeyPattern::Excluded(names) => !names.iter().any(|n| n == name),
        };
        let mut items = Vec::new();
        for (n, v) in cookies[..limit].iter().filter(|(n, _)| keep(n)) {
            let name = Some(Cow::Borrowed(*n));
            if scope != MatchScope::Value {
                items.push(Item::new(name.clone(), n.as_bytes()));
            }
            if scope != MatchScope::Key {
                items.push(Item::new(name, v.as_bytes()));
            }
        }
        Extract::Items(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(e: Extract<'_>) -> Vec<String> {
        match e {
            Extract::Items(items) => items
                .iter()
                .map(|i| String::from_utf8_lossy(&i.value).into_owned())
                .collect(),
            Extract::Verdict(v) => vec![format!("verdict:{v}")],
        }
    }

    fn req() -> Request {
        Request::get("10.0.0.1", "/a/b?x=1&Name=bob&name=alice&flag")
            .with_header("User-Agent", "curl/8")
            .with_header("Cookie", "session=abc; theme=dark")
            .with_header("cookie", "Theme=light")
    }

    #[test]
    fn query_arguments() {
        let r = req();
        let v = View::new(&r, 8192);
        assert_eq!(
            values(v.extract(&FieldToMatch::SingleQueryArgument("name".into()))),
            ["bob", "alice"]
        );
        assert_eq!(
            values(v.extract(&FieldToMatch::AllQueryArguments)),
            ["1", "bob", "alice", ""]
        );
        assert_eq!(
            values(v.extract(&FieldToMatch::QueryString)),
            ["x=1&Name=bob&name=alice&flag"]
        );
    }

    #[test]
    fn cookies_are_case_sensitive() {
        let r = req();
        let v = View::new(&r, 8192);
        let f = FieldToMatch::Cookies {
            pattern: KeyPattern::Included(vec!["theme".into()]),
            scope: MatchScope::Value,
            oversize: Oversize::Continue,
        };
        assert_eq!(values(v.extract(&f)), ["dark"]);
        let f = FieldToMatch::Cookies {
            pattern: KeyPattern::All,
            scope: MatchScope::Key,
            oversize: Oversize::Continue,
        };
        assert_eq!(values(v.extract(&f)), ["session", "theme", "Theme"]);
    }

    #[test]
    fn body_oversize_handling() {
        let mut r = req();
        r.body = Some(vec![b'a'; 9000]);
        let v = View::new(&r, 8192);
        let f = |o| FieldToMatch::Body { oversize: o };
        assert_eq!(values(v.extract(&f(Oversize::Match))), ["verdict:true"]);
        assert_eq!(values(v.extract(&f(Oversize::NoMatch))), ["verdict:false"]);
        assert_eq!(values(v.extract(&f(Oversize::Continue)))[0].len(), 8192);
        assert_eq!(*v.oversize_fields.borrow(), ["REQUEST_BODY"]);
    }

    #[test]
    fn json_body_paths_and_fallback() {
        let mut r = req();
        r.body = Some(br#"{"a":{"c":"d","b":{"e":{"f":"g"}}}}"#.to_vec());
        let v = View::new(&r, 8192);
        let f = |scope| FieldToMatch::JsonBody {
            paths: Some(vec!["/a/b".into()]),
            scope,
            invalid_fallback: None,
            oversize: Oversize::Continue,
        };
        assert_eq!(values(v.extract(&f(MatchScope::All))), ["e", "f", "g"]);
        assert_eq!(values(v.extract(&f(MatchScope::Key))), ["e", "f"]);
        assert_eq!(values(v.extract(&f(MatchScope::Value))), ["g"]);

        let mut r = req();
        r.body = Some(br#"{"a":"x" oops}"#.to_vec());
        let v = View::new(&r, 8192);
        let f = |fb| FieldToMatch::JsonBody {
            paths: None,
            scope: MatchScope::Value,
            invalid_fallback: fb,
            oversize: Oversize::Continue,
        };
        assert_eq!(values(v.extract(&f(None))), ["x"]);
        assert_eq!(
            values(v.extract(&f(Some(JsonFallback::Match)))),
            ["verdict:true"]
        );
        assert_eq!(
            values(v.extract(&f(Some(JsonFallback::EvaluateAsString)))),
            [r#"{"a":"x" oops}"#]
        );
    }

    #[test]
    fn headers_scope_and_order() {
        let r = req();
        let v = View::new(&r, 8192);
        let f = FieldToMatch::Headers {
            pattern: KeyPattern::Excluded(vec!["cookie".into()]),
            scope: MatchScope::All,
            oversize: Oversize::Continue,
        };
        assert_eq!(values(v.extract(&f)), ["User-Agent", "curl/8"]);
        assert_eq!(
            values(v.extract(&FieldToMatch::HeaderOrder {
                oversize: Oversize::Continue
            })),
            ["User-Agent:Cookie:cookie"]
        );
        assert_eq!(
            values(v.extract(&FieldToMatch::SingleHeader("cookie".into()))),
            ["session=abc; theme=dark, Theme=light"]
        );
    }
}
