//! Secrets (API keys, client secrets, webhook secrets, tokens) kept out of `Debug` output,
//! logs and error messages.

use std::fmt;

/// A secret string. `Debug` and `Display` print `[redacted]`; the value is reached only
/// through [`Secret::expose`], at the one place that sends it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `text` with every occurrence of each non-trivial secret replaced by `[redacted]`. Used on
/// anything that may echo a request back (URLs with an `api_key` query parameter, error
/// bodies quoting a parameter) before it reaches a log or an error message.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // A very short value would redact ordinary words; real keys are long.
        if s.0.len() >= 6 {
            out = out.replace(&s.0, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_or_display() {
        let s = Secret::new("sk_test_abcdef123456");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "sk_test_abcdef123456");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let s = Secret::new("plisio_key_123");
        let url = "/api/v1/invoices/new?api_key=plisio_key_123&x=plisio_key_123";
        assert_eq!(
            redact(url, &[&s]),
            "/api/v1/invoices/new?api_key=[redacted]&x=[redacted]"
        );
    }
}
