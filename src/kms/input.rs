//! Reading AWS JSON 1.1 request members: wrong JSON types are
//! `SerializationException`, missing or out-of-range members
//! `ValidationException`, worded as AWS words them.

use base64::Engine;
use serde_json::{Map, Value};

use super::crypto::EncryptionContext;
use super::error::{lower_first, KmsError};
use super::model::B64;

pub(crate) struct Input<'a>(pub &'a Map<String, Value>);

fn wrong_type(k: &str, what: &str) -> KmsError {
    KmsError::serialization(format!("{k} must be {what}"))
}

impl<'a> Input<'a> {
    pub fn get(&self, k: &str) -> Option<&'a Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, k: &str) -> Result<Option<&'a str>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(k, "a string")),
        }
    }

    pub fn str(&self, k: &str) -> Result<&'a str, KmsError> {
        self.opt_str(k)?.ok_or_else(|| KmsError::missing(k))
    }

    /// A string member with AWS's length constraint.
    pub fn str_len(&self, k: &str, min: usize, max: usize) -> Result<&'a str, KmsError> {
        let s = self.str(k)?;
        check_len(k, s.chars().count(), min, max, Some(s))?;
        Ok(s)
    }

    pub fn opt_str_len(
        &self,
        k: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<&'a str>, KmsError> {
        let s = self.opt_str(k)?;
        if let Some(s) = s {
            check_len(k, s.chars().count(), min, max, Some(s))?;
        }
        Ok(s)
    }

    pub fn opt_blob(&self, k: &str) -> Result<Option<Vec<u8>>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => B64
                .decode(s.trim())
                .map(Some)
                .map_err(|_| KmsError::serialization(format!("{k} is not valid base64"))),
            Some(_) => Err(wrong_type(k, "a base64 string")),
        }
    }

    /// A required blob, `min..=max` bytes (its value is never echoed).
    pub fn blob(&self, k: &str, min: usize, max: usize) -> Result<Vec<u8>, KmsError> {
        let b = self.opt_blob(k)?.ok_or_else(|| KmsError::missing(k))?;
        check_len(k, b.len(), min, max, None)?;
        Ok(b)
    }

    pub fn opt_int(&self, k: &str) -> Result<Option<i64>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(k, "an integer")),
            Some(_) => Err(wrong_type(k, "an integer")),
        }
    }

    /// An integer member within `min..=max`.
    pub fn opt_int_range(&self, k: &str, min: i64, max: i64) -> Result<Option<i64>, KmsError> {
        let n = self.opt_int(k)?;
        if let Some(n) = n {
            if n < min {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{n}' at '{}' failed to satisfy constraint: \
                     Member must have value greater than or equal to {min}",
                    lower_first(k)
                )));
            }
            if n > max {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{n}' at '{}' failed to satisfy constraint: \
                     Member must have value less than or equal to {max}",
                    lower_first(k)
                )));
            }
        }
        Ok(n)
    }

    pub fn opt_bool(&self, k: &str) -> Result<Option<bool>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(k, "a boolean")),
        }
    }

    pub fn opt_object(&self, k: &str) -> Result<Option<&'a Map<String, Value>>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(wrong_type(k, "an object")),
        }
    }

    pub fn opt_str_list(&self, k: &str) -> Result<Option<Vec<String>>, KmsError> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| wrong_type(k, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(k, "a list of strings")),
        }
    }

    /// An encryption context member (absent: empty).
    pub fn context(&self, k: &str) -> Result<EncryptionContext, KmsError> {
        match self.opt_object(k)? {
            None => Ok(EncryptionContext::new()),
            Some(m) => context_from_map(k, m),
        }
    }

    /// `Limit`, within `1..=max`, else `default`.
    pub fn limit(&self, max: i64, default: usize) -> Result<usize, KmsError> {
        Ok(self
            .opt_int_range("Limit", 1, max)?
            .map(|n| n as usize)
            .unwrap_or(default))
    }
}

pub(crate) fn context_from_map(
    k: &str,
    m: &Map<String, Value>,
) -> Result<EncryptionContext, KmsError> {
    let mut ctx = EncryptionContext::new();
    for (key, v) in m {
        let Value::String(s) = v else {
            return Err(wrong_type(k, "a map of strings to strings"));
        };
        ctx.insert(key.clone(), s.clone());
    }
    Ok(ctx)
}

/// AWS's `Member must have length ...` validation message; the value is shown
/// only when `shown` is given (never for plaintext or ciphertext).
pub(crate) fn check_len(
    k: &str,
    len: usize,
    min: usize,
    max: usize,
    shown: Option<&str>,
) -> Result<(), KmsError> {
    let at = match shown {
        Some(s) => format!("Value '{s}' at '{}'", lower_first(k)),
        None => format!("Value at '{}'", lower_first(k)),
    };
    if len < min {
        return Err(KmsError::validation(format!(
            "1 validation error detected: {at} failed to satisfy constraint: Member must have length \
             greater than or equal to {min}"
        )));
    }
    if len > max {
        return Err(KmsError::validation(format!(
            "1 validation error detected: {at} failed to satisfy constraint: Member must have length \
             less than or equal to {max}"
        )));
    }
    Ok(())
}
