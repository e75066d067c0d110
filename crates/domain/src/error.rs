//! The one error type of the domain layer; the HTTP layer maps each variant to a status.

use crate::values::FieldError;

/// What went wrong in a use case, phrased for the caller.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The record does not exist, or exists for another tenant (the two are indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but its role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The action conflicts with the current state, such as deleting a client that still has sites.
    #[error("{0}")]
    Conflict(String),
    /// Some fields of the request are unacceptable.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// Some query parameters are unacceptable.
    #[error("the query has invalid parameters")]
    InvalidQuery(Vec<FieldError>),
    /// A pagination token was not issued for this list.
    #[error("nextToken is not valid for this list")]
    BadPageToken,
    /// The caller asked for more than its budget allows (messages a day,
    /// uploads a second); it may try again after `retry_after` seconds.
    #[error("{detail}")]
    TooMany { detail: String, retry_after: u64 },
    /// A dependency (DynamoDB, the identity provider's keys) failed; the caller may retry.
    #[error("{context}")]
    Unavailable {
        /// What the domain was doing.
        context: String,
        /// The underlying failure, logged but never shown to callers.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl DomainError {
    /// Wraps a dependency failure with what was being attempted.
    pub fn unavailable(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// An error with every cause under it, as AWS SDK errors need to be logged:
/// their own message is only "service error", the details are in their sources
/// (what `aws_smithy_types::error::display::DisplayErrorContext` prints).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("service error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause() {
        let error = Outer(std::io::Error::other(
            "ValidationException: Invalid KeyConditionExpression",
        ));
        assert_eq!(
            chain(&error),
            "service error: ValidationException: Invalid KeyConditionExpression"
        );
    }
}
