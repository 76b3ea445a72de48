//! Checking the keys of a configuration map (test files, waivers, samples).

use super::LoadError;
use crate::doc::Entry;
use crate::dsl::diag::did_you_mean;

/// Refuses a key outside `allowed`, naming its position and the closest allowed key.
pub fn check_keys(
    path: &str,
    entries: &[Entry],
    allowed: &[&str],
    what: &str,
) -> Result<(), LoadError> {
    match entries.iter().find(|e| !allowed.contains(&e.key.as_str())) {
        None => Ok(()),
        Some(e) => {
            let hint = did_you_mean(&e.key, allowed.iter().copied())
                .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
            Err(LoadError::at(
                path,
                e.key_pos,
                format!(
                    "unknown key `{}` in the {what}{hint} (keys: {})",
                    e.key,
                    allowed.join(", ")
                ),
            ))
        }
    }
}
