//! Suppressions: inline skips in templates, auditors' waivers, and baselines.
//! A suppressed result keeps its place in every report with status `skipped` and
//! the reason, so nothing disappears silently.

pub mod baseline;
pub mod inline;
pub mod waivers;

use crate::result::{Finding, Status};

/// Marks a finding as skipped, keeping its message.
pub fn skip(f: &mut Finding, reason: String) {
    f.status = Status::Skipped;
    f.skip_reason = Some(reason);
}

/// `*` matches any run of characters, `?` one character; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking to the last `*`: linear for practical inputs.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(
            "module.legacy.*",
            "module.legacy.aws_s3_bucket.x"
        ));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("Vol?me", "Volume"));
        assert!(!glob_match(
            "module.legacy.*",
            "module.other.aws_s3_bucket.x"
        ));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }
}
