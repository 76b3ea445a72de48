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

/// `*` matches any run of characters, `?` one character; everything else literally
/// (the same wildcards as IAM, so one matcher serves both).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    crate::kms::policy::glob(pattern, text, false)
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
