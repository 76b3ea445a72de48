//! Maven's version order (ComparableVersion, as the POM reference specifies):
//! items split at `.`, `-` and digit/letter transitions (a transition acts as
//! a `-`); qualifiers `alpha < beta < milestone < rc = cr < snapshot < "" = ga =
//! final = release < sp`, unknown qualifiers after those, alphabetically.

use std::cmp::Ordering;

#[derive(Clone, Debug)]
enum Item {
    /// Digits without leading zeros (compared by length, then text: no overflow).
    Int(String),
    Str(String),
    List(Vec<Item>),
}

#[derive(Clone, Debug)]
pub struct MavenVersion {
    items: Vec<Item>,
}

const QUALIFIERS: &[&str] = &["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: usize = 5;

fn int_item(digits: &str) -> Item {
    let t = digits.trim_start_matches('0');
    Item::Int(t.to_string())
}

fn str_item(text: &str, followed_by_digit: bool) -> Item {
    let v = match (followed_by_digit, text) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        (_, "ga") | (_, "final") | (_, "release") => "",
        (_, "cr") => "rc",
        _ => text,
    };
    Item::Str(v.to_string())
}

/// The sort key of a qualifier: its index among the known ones, or after them.
fn qualifier_key(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Int(d) => d.is_empty(),
        Item::Str(s) => qualifier_key(s).0 == RELEASE_INDEX,
        Item::List(l) => l.is_empty(),
    }
}

/// Drop trailing null items (0, "", empty lists) from a list.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if is_null(&list[i]) {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

fn cmp_item(a: &Item, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Int(x), None) => {
            if x.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Item::Int(x), Some(Item::Int(y))) => (x.len(), x).cmp(&(y.len(), y)),
        (Item::Int(_), Some(_)) => Ordering::Greater,
        (Item::Str(s), None) => qualifier_key(s).cmp(&(RELEASE_INDEX, "")),
        (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::Str(s), Some(Item::Str(t))) => qualifier_key(s).cmp(&qualifier_key(t)),
        (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
        (Item::List(l), None) => match l.first() {
            None => Ordering::Equal,
            Some(first) => cmp_item(first, None),
        },
        (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
        (Item::List(l), Some(Item::List(r))) => cmp_lists(l, r),
    }
}

fn cmp_lists(l: &[Item], r: &[Item]) -> Ordering {
    for i in 0..l.len().max(r.len()) {
        let result = match (l.get(i), r.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(y)) => cmp_item(y, None).reverse(),
            (Some(x), y) => cmp_item(x, y),
        };
        if result != Ordering::Equal {
            return result;
        }
    }
    Ordering::Equal
}

impl MavenVersion {
    pub fn parse(text: &str) -> Result<Self, String> {
        let v = text.trim().to_lowercase();
        if v.is_empty() {
            return Err("empty version".into());
        }
        if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("versions contain no spaces or control characters".into());
        }
        // A stack of open lists; each `-` (or transition) opens a nested one.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let chars: Vec<char> = v.chars().collect();
        let mut start = 0usize;
        let mut is_digit = false;
        let piece = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
        let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
            if let Some(top) = stack.last_mut() {
                top.push(item);
            }
        };
        for (i, &c) in chars.iter().enumerate() {
            if c == '.' || c == '-' {
                let item = if i == start {
                    Item::Int(String::new())
                } else if is_digit {
                    int_item(&piece(start, i))
                } else {
                    str_item(&piece(start, i), false)
                };
                push(&mut stack, item);
                start = i + 1;
                if c == '-' {
                    stack.push(Vec::new());
                }
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    push(&mut stack, str_item(&piece(start, i), true));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    push(&mut stack, int_item(&piece(start, i)));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
        if chars.len() > start {
            let item = if is_digit {
                int_item(&piece(start, chars.len()))
            } else {
                str_item(&piece(start, chars.len()), false)
            };
            push(&mut stack, item);
        }
        // Close the nested lists innermost first, normalizing each.
        while stack.len() > 1 {
            let mut inner = stack.pop().unwrap_or_default();
            normalize(&mut inner);
            push(&mut stack, Item::List(inner));
        }
        let mut items = stack.pop().unwrap_or_default();
        normalize(&mut items);
        Ok(MavenVersion { items })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}
