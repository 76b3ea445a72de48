//! Snapshots: the full findings of a case in a stable, reviewable text form, one
//! line per result. A snapshot changes only with `deadbolt test --update`.

use std::path::Path;

use crate::load::LoadError;
use crate::result::Finding;

pub const HEADER: &str = "# deadbolt snapshot v1";

/// The snapshot text of findings. `rel` turns a finding's file into the path shown
/// (relative to the test file, so snapshots do not depend on the working directory).
pub fn render(case: &str, findings: &[Finding], rel: &dyn Fn(&str) -> String) -> String {
    let mut out = format!("{HEADER}\n# case: {case}\n");
    for f in findings {
        out.push_str(&format!(
            "{}:{}:{} {} {} {} ({}) — {}\n",
            rel(&f.file),
            f.line,
            f.column,
            f.status.as_str(),
            f.policy,
            f.resource,
            f.resource_type,
            f.message.replace('\n', " ")
        ));
    }
    out
}

/// Checks that a snapshot file is well-formed, so that a hand edit that broke it is
/// reported with its line instead of showing up as a confusing diff.
pub fn validate(path: &Path, text: &str) -> Result<(), LoadError> {
    let name = path.display().to_string();
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, l)) if l == HEADER => {}
        _ => {
            return Err(LoadError::at(
                &name,
                crate::doc::Pos::new(1, 1),
                format!("not a deadbolt snapshot: the first line must be `{HEADER}`; delete the file and run `deadbolt test --update` to write it again"),
            ))
        }
    }
    for (n, line) in lines {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !well_formed(line) {
            return Err(LoadError::at(
                &name,
                crate::doc::Pos::new(n as u32 + 1, 1),
                "malformed snapshot line: expected `FILE:LINE:COLUMN STATUS POLICY RESOURCE (TYPE) — MESSAGE`; \
                 fix it or delete the file and run `deadbolt test --update`",
            ));
        }
    }
    Ok(())
}

fn well_formed(line: &str) -> bool {
    let Some((head, _message)) = line.split_once(" — ") else {
        return false;
    };
    let mut parts = head.splitn(4, ' ');
    let (Some(loc), Some(status), Some(_policy), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let mut loc_parts = loc.rsplitn(3, ':');
    let (Some(col), Some(line_no), Some(_file)) =
        (loc_parts.next(), loc_parts.next(), loc_parts.next())
    else {
        return false;
    };
    col.parse::<u32>().is_ok()
        && line_no.parse::<u32>().is_ok()
        && crate::result::Status::parse(status).is_some()
        && rest.ends_with(')')
        && rest.contains(" (")
}

/// A unified diff of expected (the snapshot) and actual text.
pub fn unified_diff(expected: &str, actual: &str, name: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{name} (snapshot)"), &format!("{name} (actual)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_checked() {
        let ok = format!("{HEADER}\n# case: x\na.yaml:3:5 fail p R (AWS::S3::Bucket) — msg\n");
        assert!(validate(Path::new("s.snap"), &ok).is_ok());
        let bad = format!("{HEADER}\na.yaml:3 fail p R (T) — msg\n");
        let e = validate(Path::new("s.snap"), &bad).unwrap_err();
        assert_eq!(e.line(), 2);
        let e = validate(Path::new("s.snap"), "garbage").unwrap_err();
        assert_eq!(e.line(), 1);
    }
}
