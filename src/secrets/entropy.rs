//! Shannon entropy: how unpredictable the characters of a string are, in bits
//! per character. Generated credentials score high (a random 40-character
//! base64 string ≈ 5), words and names low ("production" ≈ 2.9).

/// Shannon entropy of `s` over its own characters, in bits per character
/// (0 for the empty string).
pub fn shannon(s: &str) -> f64 {
    let mut counts: Vec<(char, usize)> = Vec::new();
    let mut total = 0usize;
    for c in s.chars() {
        total += 1;
        match counts.iter_mut().find(|(k, _)| *k == c) {
            Some((_, n)) => *n += 1,
            None => counts.push((c, 1)),
        }
    }
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .iter()
        .map(|&(_, n)| {
            let p = n as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn known_values() {
        assert!(close(shannon(""), 0.0));
        assert!(close(shannon("aaaa"), 0.0));
        assert!(close(shannon("ab"), 1.0));
        assert!(close(shannon("abcd"), 2.0));
        assert!(close(shannon("0123456789abcdef"), 4.0));
        // detect-secrets' documented example: 3.0 for a 8-symbol uniform string.
        assert!(close(shannon("01234567"), 3.0));
    }

    #[test]
    fn generated_credentials_score_higher_than_words() {
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz";
        assert!(shannon(key) > 4.0, "{}", shannon(key));
        assert!(shannon("production") < 3.5);
        assert!(shannon("changeme") < 3.0);
    }

    #[test]
    fn counts_characters_not_bytes() {
        // Two distinct multi-byte characters, equally often: exactly one bit.
        assert!(close(shannon("éé€€"), 1.0));
    }
}
