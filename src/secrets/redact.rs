//! What a report may show of a secret: never the secret itself. A structural
//! prefix that every such credential shares (`AKIA`, `ghp_`) may be kept so a
//! reader can tell what was found; every other character becomes `*`.

/// Most `*` shown: the mask hints at the length without growing with it.
const MAX_STARS: usize = 20;

/// `keep` leading characters (at most a quarter of the value, so a short
/// password shows none), then one `*` per hidden character, at most 20.
pub fn redact(value: &str, keep: usize) -> String {
    let n = value.chars().count();
    let keep = keep.min(n / 4);
    let shown: String = value
        .chars()
        .take(keep)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{shown}{}", "*".repeat((n - keep).clamp(1, MAX_STARS)))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn shows_only_a_public_prefix() {
        assert_eq!(redact("AKIAZ7QWERTYUIOPASDF", 4), "AKIA****************");
        assert_eq!(redact("hunter2", 4), "h******");
        assert_eq!(redact("hunter2", 0), "*******");
        assert_eq!(redact("abc", 4), "***");
        assert_eq!(redact("", 4), "*");
        assert_eq!(redact(&"x".repeat(100), 0), "*".repeat(20));
    }

    #[test]
    fn control_characters_are_not_echoed() {
        assert_eq!(redact("\u{1b}[31mabcdefgh", 2), "?[***********");
    }
}
