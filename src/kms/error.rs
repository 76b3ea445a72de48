//! Errors with AWS KMS semantics: `kind` is the AWS `__type` (for example
//! `NotFoundException`), `status` the HTTP status the endpoint answers with.
//!
//! `message` is what a client may see: it never names a file of the server.
//! `detail`, when set, is the same failure as the keystore's owner needs it
//! (file paths, the OS error): the endpoint logs it, the command line prints it.

use std::fmt;

/// An error from the KMS: the AWS error name, a message, and the HTTP status.
#[derive(Clone, PartialEq, Eq)]
pub struct KmsError {
    /// The AWS `__type`, e.g. `"NotFoundException"`.
    pub kind: &'static str,
    pub message: String,
    /// 400, or 500 for `KMSInternalException`.
    pub status: u16,
    /// The owner's view of the failure (paths included), for logs.
    pub detail: Option<String>,
}

impl KmsError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> KmsError {
        let status = if kind == "KMSInternalException" {
            500
        } else {
            400
        };
        KmsError {
            kind,
            message: message.into(),
            status,
            detail: None,
        }
    }

    /// Adds the owner's view of the failure (see the module docs).
    pub fn with_detail(mut self, detail: impl Into<String>) -> KmsError {
        self.detail = Some(detail.into());
        self
    }

    /// The detail when there is one, else the message: what the keystore's
    /// owner (the command line, the server log) is shown.
    pub fn owner_message(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.message)
    }

    pub fn not_found(m: impl Into<String>) -> KmsError {
        KmsError::new("NotFoundException", m)
    }
    pub fn validation(m: impl Into<String>) -> KmsError {
        KmsError::new("ValidationException", m)
    }
    pub fn serialization(m: impl Into<String>) -> KmsError {
        KmsError::new("SerializationException", m)
    }
    pub fn disabled(m: impl Into<String>) -> KmsError {
        KmsError::new("DisabledException", m)
    }
    pub fn invalid_state(m: impl Into<String>) -> KmsError {
        KmsError::new("KMSInvalidStateException", m)
    }
    pub fn invalid_ciphertext(m: impl Into<String>) -> KmsError {
        KmsError::new("InvalidCiphertextException", m)
    }
    pub fn incorrect_key(m: impl Into<String>) -> KmsError {
        KmsError::new("IncorrectKeyException", m)
    }
    pub fn access_denied(m: impl Into<String>) -> KmsError {
        KmsError::new("AccessDeniedException", m)
    }
    pub fn already_exists(m: impl Into<String>) -> KmsError {
        KmsError::new("AlreadyExistsException", m)
    }
    pub fn malformed_policy(m: impl Into<String>) -> KmsError {
        KmsError::new("MalformedPolicyDocumentException", m)
    }
    pub fn unsupported(m: impl Into<String>) -> KmsError {
        KmsError::new("UnsupportedOperationException", m)
    }
    pub fn internal(m: impl Into<String>) -> KmsError {
        KmsError::new("KMSInternalException", m)
    }
    pub fn tag(m: impl Into<String>) -> KmsError {
        KmsError::new("TagException", m)
    }
    pub fn limit(m: impl Into<String>) -> KmsError {
        KmsError::new("LimitExceededException", m)
    }
    pub fn invalid_marker(m: impl Into<String>) -> KmsError {
        KmsError::new("InvalidMarkerException", m)
    }

    /// `1 validation error detected: Value null at 'keyId' failed to satisfy
    /// constraint: Member must not be null`, as AWS words a missing member.
    pub fn missing(member: &str) -> KmsError {
        KmsError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))
    }

    /// The AWS JSON 1.1 error body: `{"__type": kind, "message": message}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"__type": self.kind, "message": self.message})
    }

    /// An I/O failure of the keystore: `what` names the file (it goes into the
    /// detail only); the client is told the operation and the OS error.
    pub(crate) fn io(what: impl fmt::Display, e: std::io::Error) -> KmsError {
        let verb = if e.kind() == std::io::ErrorKind::NotFound {
            "find"
        } else {
            "use"
        };
        KmsError::internal(format!(
            "the keystore could not {verb} one of its files: {e}"
        ))
        .with_detail(format!("{what}: {e}"))
    }
}

/// `KeyId` -> `keyId`, the way AWS names members in validation messages.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The owner's view: `kind: detail` (or `kind: message` without a detail).
impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.owner_message())
    }
}

impl fmt::Debug for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KmsError({} {}: {})",
            self.status, self.kind, self.message
        )
    }
}

impl std::error::Error for KmsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_display() {
        let e = KmsError::not_found("Key 'x' does not exist");
        assert_eq!(e.status, 400);
        assert_eq!(e.to_string(), "NotFoundException: Key 'x' does not exist");
        assert_eq!(KmsError::internal("boom").status, 500);
        assert_eq!(
            KmsError::missing("KeyId").message,
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            KmsError::missing("KeyId").to_json()["__type"],
            "ValidationException"
        );
    }
}
