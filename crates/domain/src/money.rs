use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in minor units (cents) of an ISO 4217 currency. Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("\"{0}\" is not a currency code: use three letters such as USD")]
    Currency(String),
    #[error("\"{0}\" is not an amount: use digits with at most two decimals, such as 5 or 12.50")]
    Amount(String),
}

impl Currency {
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(MoneyError::Currency(s.to_string()));
        }
        Ok(Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses "12", "12.5" or "12.50" as a two-decimal amount.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Self, MoneyError> {
        let t = s.trim();
        let err = || MoneyError::Amount(s.to_string());
        let (neg, t) = t.strip_prefix('-').map(|r| (true, r)).unwrap_or((false, t));
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let whole: i64 = whole.parse().map_err(|_| err())?;
        let frac: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<2}").parse().map_err(|_| err())?
        };
        let minor = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(err)?;
        Ok(Self::new(if neg { -minor } else { minor }, currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let a = self.minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", a / 100, a % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_become_minor_units() {
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(Money::parse_decimal("5", usd).unwrap().minor, 500);
        assert_eq!(Money::parse_decimal("12.5", usd).unwrap().minor, 1250);
        assert_eq!(
            Money::parse_decimal("0.07", usd).unwrap().to_string(),
            "0.07 USD"
        );
        assert!(Money::parse_decimal("1.234", usd).is_err());
        assert!(Money::parse_decimal("abc", usd).is_err());
    }
}
