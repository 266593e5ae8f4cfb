//! Money at the gateway boundary: minor units per currency exponent, and the decimal strings
//! PayPal and Plisio put on the wire. Never a float.

use boxoffice_domain::Money;
use boxoffice_domain::money::Currency;

use crate::error::PaymentError;

/// Currencies whose amounts have no minor unit (Stripe's zero-decimal list).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// How many decimals one major unit has: `Money.minor` counts units of 10^-exponent.
pub fn exponent(currency: Currency) -> u32 {
    let c = currency.as_str();
    if ZERO_DECIMAL.contains(&c) {
        0
    } else if THREE_DECIMAL.contains(&c) {
        3
    } else {
        2
    }
}

/// `"15.00"` for 1500 USD, `"500"` for 500 JPY, `"-0.01"` for -1 USD.
pub fn to_decimal(m: Money) -> String {
    let e = exponent(m.currency);
    let sign = if m.minor < 0 { "-" } else { "" };
    let a = m.minor.unsigned_abs();
    if e == 0 {
        return format!("{sign}{a}");
    }
    let p = 10u64.pow(e);
    format!("{sign}{}.{:0w$}", a / p, a % p, w = e as usize)
}

/// A decimal string from a gateway ("10.00", "10.0", "-0.59", "500") in `currency`'s minor
/// units. More decimals than the currency has is an error, unless they are zeros.
pub fn parse_decimal(s: &str, currency: Currency) -> Result<Money, PaymentError> {
    let bad = || PaymentError::BadAmount {
        value: s.to_string(),
        currency: currency.to_string(),
    };
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let e = exponent(currency) as usize;
    let frac = frac.trim_end_matches('0');
    if frac.len() > e {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac_v: i64 = if e == 0 {
        0
    } else {
        format!("{frac:0<e$}").parse().map_err(|_| bad())?
    };
    let minor = whole
        .checked_mul(10i64.pow(e as u32))
        .and_then(|w| w.checked_add(frac_v))
        .ok_or_else(bad)?;
    Ok(Money::new(if neg { -minor } else { minor }, currency))
}

/// A currency code from a gateway (`usd`, `USD`).
pub fn currency(code: &str) -> Result<Currency, PaymentError> {
    Currency::parse(code).map_err(|_| PaymentError::BadAmount {
        value: String::new(),
        currency: code.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    #[test]
    fn decimals_follow_each_currencys_exponent() {
        assert_eq!(to_decimal(Money::new(1500, c("USD"))), "15.00");
        assert_eq!(to_decimal(Money::new(500, c("JPY"))), "500");
        assert_eq!(to_decimal(Money::new(1500, c("KWD"))), "1.500");
        assert_eq!(to_decimal(Money::new(-1, c("EUR"))), "-0.01");
        assert_eq!(parse_decimal("10.00", c("USD")).unwrap().minor, 1000);
        assert_eq!(parse_decimal("10.0", c("USD")).unwrap().minor, 1000);
        assert_eq!(parse_decimal("-0.59", c("USD")).unwrap().minor, -59);
        assert_eq!(parse_decimal("500", c("JPY")).unwrap().minor, 500);
        assert_eq!(parse_decimal("500.00", c("JPY")).unwrap().minor, 500);
        assert!(parse_decimal("1.234", c("USD")).is_err());
        assert!(parse_decimal("1.5", c("JPY")).is_err());
        assert!(parse_decimal("ten", c("USD")).is_err());
    }
}
