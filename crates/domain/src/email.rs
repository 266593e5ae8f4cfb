use serde::{Deserialize, Serialize};
use std::fmt;

/// An e-mail address as the customer typed it. Comparisons ignore case; the spelling is kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("an e-mail address is required")]
    Empty,
    #[error(
        "\"{0}\" is not an e-mail address: it needs one @ with a name before it and a domain after it"
    )]
    Malformed(String),
    #[error("an e-mail address is at most 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(EmailError::Malformed(s.to_string()));
        };
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && !domain.chars().any(bad_char);
        if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) || !domain_ok {
            return Err(EmailError::Malformed(s.to_string()));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for lookups and uniqueness.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Email {}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses_and_keeps_their_spelling() {
        let e = Email::parse(" Ann.Lee+tv@Example.com ").unwrap();
        assert_eq!(e.as_str(), "Ann.Lee+tv@Example.com");
        assert_eq!(e.normalized(), "ann.lee+tv@example.com");
        assert_eq!(e, Email::parse("ann.lee+TV@example.COM").unwrap());
    }

    #[test]
    fn rejects_what_cannot_receive_mail() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a@.com",
            "a b@example.com",
            "a@example..com",
            "a@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,300}") {
            let _ = Email::parse(&s);
        }

        #[test]
        fn simple_addresses_round_trip(local in "[a-z0-9._+]{1,20}", host in "[a-z0-9]{1,10}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{host}.{tld}");
            let e = Email::parse(&raw).unwrap();
            prop_assert_eq!(e.as_str(), raw.as_str());
        }
    }
}
