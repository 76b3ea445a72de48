//! "Did you mean" matching shared by type and property suggestions.
//!
//! Names are compared case-insensitively with optimal-string-alignment
//! distance (a transposition like "Bukcet" costs one edit), normalised by
//! the longer name. A fixed similarity floor keeps us from proposing an
//! unrelated name just because it is the least bad.

use strsim::normalized_damerau_levenshtein;

/// Minimum similarity for a property-name suggestion. Tuned so one or two
/// slips in a short CamelCase name ("Encryptd", "KmsKey") still match while
/// unrelated names ("Foo" vs "Iops") don't.
pub(crate) const PROPERTY_THRESHOLD: f64 = 0.7;

/// Minimum similarity for a resource-type suggestion, measured after the
/// shared `AWS::` prefix is removed (it would otherwise inflate every score).
pub(crate) const TYPE_THRESHOLD: f64 = 0.75;

/// Best candidate at or above `threshold`; ties keep the first candidate so
/// results are deterministic for sorted inputs. An exact case-insensitive
/// match always wins.
pub(crate) fn best_match<'a, I>(candidates: I, name: &str, threshold: f64) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted = name.to_ascii_lowercase();
    let mut best: Option<(&'a str, f64)> = None;
    for cand in candidates {
        // The similarity is at most the ratio of the lengths (every extra
        // character is an edit): skip candidates that cannot reach the floor,
        // so a 200 KB unknown name costs a length check per candidate.
        let (short, long) = (cand.len().min(name.len()), cand.len().max(name.len()));
        if (short as f64) < threshold * long as f64 - 8.0 {
            continue;
        }
        let lower = cand.to_ascii_lowercase();
        if lower == wanted {
            return Some(cand);
        }
        let score = similarity(&lower, &wanted);
        if score >= threshold && best.is_none_or(|(_, s)| score > s) {
            best = Some((cand, score));
        }
    }
    best.map(|(c, _)| c)
}

/// Similarity of two lower-cased names, ignoring a common `aws::` prefix.
fn similarity(a: &str, b: &str) -> f64 {
    const PREFIX: &str = "aws::";
    match (a.strip_prefix(PREFIX), b.strip_prefix(PREFIX)) {
        (Some(x), Some(y)) => normalized_damerau_levenshtein(x, y),
        _ => normalized_damerau_levenshtein(a, b),
    }
}
