//! CVSS v3.0/v3.1 base scores from vector strings (FIRST specification,
//! section 7), so a severity never depends on a score someone else computed.

use crate::inspector::ports::Severity;

/// A parsed CVSS v3 vector with its base score.
#[derive(Clone, Debug, PartialEq)]
pub struct Cvss3 {
    /// "3.0" or "3.1".
    pub version: String,
    pub vector: String,
    pub base_score: f64,
}

impl Cvss3 {
    /// The qualitative rating of the score (Table 14).
    pub fn severity(&self) -> Severity {
        rating(self.base_score)
    }
}

pub fn rating(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Informational
    }
}

/// Parse `CVSS:3.x/AV:_/AC:_/PR:_/UI:_/S:_/C:_/I:_/A:_` (temporal and
/// environmental metrics may follow and are ignored) and compute the base score.
pub fn parse_v3(vector: &str) -> Result<Cvss3, String> {
    let v = vector.trim();
    let mut parts = v.split('/');
    let version = match parts.next() {
        Some("CVSS:3.0") => "3.0",
        Some("CVSS:3.1") => "3.1",
        other => {
            return Err(format!(
                "expected a vector starting CVSS:3.0/ or CVSS:3.1/, found {:?}",
                other.unwrap_or("")
            ))
        }
    };
    let mut m: [Option<&str>; 8] = [None; 8];
    const KEYS: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    for part in parts {
        let Some((k, val)) = part.split_once(':') else {
            return Err(format!("metric {part:?} is not KEY:VALUE"));
        };
        if let Some(i) = KEYS.iter().position(|x| *x == k) {
            if m[i].is_some() {
                return Err(format!("metric {k} appears twice"));
            }
            m[i] = Some(val);
        }
    }
    let get = |i: usize| m[i].ok_or_else(|| format!("base metric {} is missing", KEYS[i]));
    let bad = |k: &str, v: &str| format!("{k}:{v} is not a valid CVSS v3 value");
    let scope_changed = match get(4)? {
        "U" => false,
        "C" => true,
        x => return Err(bad("S", x)),
    };
    let av = match get(0)? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        x => return Err(bad("AV", x)),
    };
    let ac = match get(1)? {
        "L" => 0.77,
        "H" => 0.44,
        x => return Err(bad("AC", x)),
    };
    let pr = match (get(2)?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        (x, _) => return Err(bad("PR", x)),
    };
    let ui = match get(3)? {
        "N" => 0.85,
        "R" => 0.62,
        x => return Err(bad("UI", x)),
    };
    let cia = |i: usize| -> Result<f64, String> {
        match get(i)? {
            "H" => Ok(0.56),
            "L" => Ok(0.22),
            "N" => Ok(0.0),
            x => Err(bad(KEYS[i], x)),
        }
    };
    let (c, i, a) = (cia(5)?, cia(6)?, cia(7)?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    let roundup = |x: f64| {
        if version == "3.0" {
            (x * 10.0).ceil() / 10.0
        } else {
            roundup31(x)
        }
    };
    let score = if impact <= 0.0 {
        0.0
    } else if scope_changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    };
    Ok(Cvss3 {
        version: version.to_string(),
        vector: v.to_string(),
        base_score: score,
    })
}

/// CVSS v3.1 Roundup (Appendix A): avoids floating point surprises.
fn roundup31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores() {
        // Scores as NVD publishes them for these vectors.
        for (v, s) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0), // CVE-2021-44228
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", 9.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N", 4.7),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/E:P", 9.9),
        ] {
            assert_eq!(parse_v3(v).unwrap().base_score, s, "{v}");
        }
        assert_eq!(
            parse_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N")
                .unwrap()
                .severity(),
            Severity::Critical
        );
        assert!(parse_v3("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N").is_err());
        assert!(parse_v3("CVSS:3.1/AV:N/AC:L").is_err());
        assert!(parse_v3("AV:N/AC:L/Au:N/C:P/I:P/A:P").is_err());
    }
}
