use boxoffice_store::StoreError;

/// What a use case answers when it does not succeed. Each case maps to one kind of HTTP answer
/// and CLI message; `Store` failures are unexpected and never dressed up as "not found".
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("you do not have permission to {0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("too many attempts: try again in {retry_after} seconds")]
    Throttled { retry_after: i64 },
    /// Too much of a bounded resource (password checks) is in use: try again shortly.
    #[error("the server is busy: try again in {retry_after} seconds")]
    Busy { retry_after: i64 },
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// A media server or plex.tv call failed; the message is the catalogue's actionable text.
    #[error(transparent)]
    Media(#[from] boxoffice_media::MediaError),
    /// An e-mail or Discord message could not be delivered; transient failures are retried.
    #[error("{message}")]
    Delivery {
        message: String,
        retryable: bool,
        retry_after_secs: Option<i64>,
    },
    #[error("{0}")]
    Internal(String),
    /// A long job stopped between units of work because its worker is shutting down; the job is
    /// handed back and resumes where it stopped.
    #[error("stopped for shutdown; resumes at the next start")]
    Interrupted,
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

impl AppError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Turns a store `NotFound` into a domain "not found" for `what`; other failures stay failures.
    pub fn not_found_as(what: &'static str) -> impl Fn(StoreError) -> AppError {
        move |e| {
            if e.is_not_found() {
                AppError::NotFound(what)
            } else {
                AppError::Store(e)
            }
        }
    }
}
