//! Referrals (product §8.11, rule 19, acceptance check 10): every customer has a referral code;
//! when a customer who registered with someone's code makes their first payment, the referrer is
//! credited once.
//!
//! The bonus is one of two kinds, chosen in the Referrals settings:
//! - **days**: a fixed number of days added to the referrer's access;
//! - **percentage**: a share of the referred customer's first payment, clamped between a minimum
//!   and a maximum amount (`bonus = clamp(payment × pct / 100, min, max)`: 20 % of 10 USD is 2 USD;
//!   with a minimum of 3 it is 3; with a maximum of 1 it is 1), kept as a credit on the
//!   referrer's next payment. The share is rounded half-up to a whole minor unit.
//!
//! Codes use an alphabet without look-alikes (no 0/O, 1/I/L), so one read aloud is typed right.

use crate::Money;
use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// Letters and digits that cannot be mistaken for one another.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a referral code.
pub const CODE_LEN: usize = 8;

/// A referral code made from random bytes (one character per byte, modulo the alphabet).
pub fn code_from_bytes(bytes: &[u8; CODE_LEN]) -> String {
    bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect()
}

/// A referral code as typed (a link's `ref=` or a form field): trimmed and upper-cased; `None`
/// when it cannot be one.
pub fn normalise_code(raw: &str) -> Option<String> {
    let c = raw.trim().to_ascii_uppercase();
    (c.len() == CODE_LEN && c.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(c)
}

/// The kind of bonus, from the `referrals.bonus_type` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BonusKind {
    Days,
    Percentage,
}

impl BonusKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "days" => Some(BonusKind::Days),
            "percentage" => Some(BonusKind::Percentage),
            _ => None,
        }
    }
}

/// The Referrals settings that decide a bonus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BonusRules {
    pub enabled: bool,
    pub kind: BonusKind,
    /// Days (kind days) or whole percent (kind percentage).
    pub value: i64,
    /// Floor of a percentage bonus, in minor units of the payment's currency.
    pub min_minor: Option<i64>,
    /// Ceiling of a percentage bonus, in minor units of the payment's currency.
    pub max_minor: Option<i64>,
}

/// What the referrer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bonus {
    /// Days added to the referrer's access.
    Days(u32),
    /// Money off the referrer's next payment.
    Credit(Money),
}

impl std::fmt::Display for Bonus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bonus::Days(1) => f.write_str("1 day"),
            Bonus::Days(d) => write!(f, "{d} days"),
            Bonus::Credit(m) => write!(f, "{m} off your next payment"),
        }
    }
}

/// The referrer's bonus for the referred customer's first payment; `None` when bonuses are off or
/// come to nothing (0 days, 0 %, a free payment with no minimum).
///
/// The percentage is of what was actually paid (after any discount code). A minimum above the
/// maximum is read as the maximum: the ceiling wins.
pub fn bonus(rules: &BonusRules, first_payment: Money) -> Option<Bonus> {
    if !rules.enabled || rules.value <= 0 {
        return None;
    }
    match rules.kind {
        BonusKind::Days => u32::try_from(rules.value.min(3650)).ok().map(Bonus::Days),
        BonusKind::Percentage => {
            let pct = i128::from(rules.value.min(100));
            let paid = i128::from(first_payment.minor.max(0));
            // Half-up: floor((2·paid·pct + 100) / 200).
            let share = i64::try_from((2 * paid * pct + 100) / 200).unwrap_or(i64::MAX);
            let mut amount = share;
            if let Some(min) = rules.min_minor {
                amount = amount.max(min);
            }
            if let Some(max) = rules.max_minor {
                amount = amount.min(max);
            }
            (amount > 0).then(|| Bonus::Credit(Money::new(amount, first_payment.currency)))
        }
    }
}

/// A money credit against a price: what is left to pay and how much of the credit is used (the
/// rest stays for a later payment). Never below zero.
pub fn apply_credit(price: Money, credit: Money) -> (Money, Money) {
    if credit.currency != price.currency || credit.minor <= 0 || price.minor <= 0 {
        return (price, Money::new(0, credit.currency));
    }
    let used = credit.minor.min(price.minor);
    (
        Money::new(price.minor - used, price.currency),
        Money::new(used, credit.currency),
    )
}

/// Which pending money credits (oldest first, in `price`'s currency) a checkout takes off its
/// price: whole credits, in order, while something is left to pay (a gateway cannot charge
/// nothing); a credit that would take the price to zero waits for a later payment. Answers the
/// indexes taken and the total taken off.
pub fn credits_for_checkout(price: Money, credits: &[Money]) -> (Vec<usize>, i64) {
    let mut taken = Vec::new();
    let mut off = 0i64;
    for (i, c) in credits.iter().enumerate() {
        if c.currency != price.currency || c.minor <= 0 {
            continue;
        }
        match off.checked_add(c.minor) {
            Some(next) if next < price.minor => {
                off = next;
                taken.push(i);
            }
            _ => {}
        }
    }
    (taken, off)
}

/// The credit's currency, for callers that hold only the setting's text.
pub fn currency(code: &str) -> Option<Currency> {
    Currency::parse(code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    #[test]
    fn a_checkout_takes_whole_credits_while_something_is_left_to_pay() {
        let eur = Money::new(100, Currency::parse("EUR").unwrap());
        assert_eq!(
            credits_for_checkout(usd(1000), &[usd(200), eur, usd(300)]),
            (vec![0, 2], 500)
        );
        // A credit as large as the price waits; a smaller later one is still taken.
        assert_eq!(
            credits_for_checkout(usd(1000), &[usd(1000), usd(100)]),
            (vec![1], 100)
        );
        assert_eq!(credits_for_checkout(usd(1000), &[]), (vec![], 0));
    }

    fn pct(value: i64, min: Option<i64>, max: Option<i64>) -> BonusRules {
        BonusRules {
            enabled: true,
            kind: BonusKind::Percentage,
            value,
            min_minor: min,
            max_minor: max,
        }
    }

    #[test]
    fn the_spec_clamp_twenty_percent_of_ten_is_two_min_three_gives_three_max_one_gives_one() {
        assert_eq!(
            bonus(&pct(20, None, None), usd(1000)),
            Some(Bonus::Credit(usd(200)))
        );
        assert_eq!(
            bonus(&pct(20, Some(300), None), usd(1000)),
            Some(Bonus::Credit(usd(300)))
        );
        assert_eq!(
            bonus(&pct(20, None, Some(100)), usd(1000)),
            Some(Bonus::Credit(usd(100)))
        );
    }

    #[test]
    fn a_percentage_bonus_is_rounded_half_up_to_the_cent() {
        // 15 % of 9.99 = 1.4985 → 1.50.
        assert_eq!(
            bonus(&pct(15, None, None), usd(999)),
            Some(Bonus::Credit(usd(150)))
        );
        // 10 % of 0.04 = 0.004 → 0.00: nothing, so no bonus.
        assert_eq!(bonus(&pct(10, None, None), usd(4)), None);
        // …unless there is a minimum.
        assert_eq!(
            bonus(&pct(10, Some(50), None), usd(4)),
            Some(Bonus::Credit(usd(50)))
        );
    }

    #[test]
    fn a_minimum_above_the_maximum_gives_the_maximum() {
        assert_eq!(
            bonus(&pct(20, Some(500), Some(300)), usd(1000)),
            Some(Bonus::Credit(usd(300)))
        );
    }

    #[test]
    fn a_days_bonus_is_its_number_of_days_whatever_was_paid() {
        let rules = BonusRules {
            enabled: true,
            kind: BonusKind::Days,
            value: 7,
            min_minor: Some(1),
            max_minor: Some(2),
        };
        assert_eq!(bonus(&rules, usd(1)), Some(Bonus::Days(7)));
        assert_eq!(Bonus::Days(7).to_string(), "7 days");
        assert_eq!(Bonus::Days(1).to_string(), "1 day");
        assert_eq!(
            Bonus::Credit(usd(250)).to_string(),
            "2.50 USD off your next payment"
        );
    }

    #[test]
    fn no_bonus_when_switched_off_or_zero() {
        let off = BonusRules {
            enabled: false,
            ..pct(20, None, None)
        };
        assert_eq!(bonus(&off, usd(1000)), None);
        assert_eq!(bonus(&pct(0, Some(100), None), usd(1000)), None);
    }

    #[test]
    fn a_credit_lowers_a_price_never_below_zero_and_keeps_the_rest() {
        assert_eq!(apply_credit(usd(1000), usd(300)), (usd(700), usd(300)));
        assert_eq!(apply_credit(usd(1000), usd(1500)), (usd(0), usd(1000)));
        let eur = Money::new(300, Currency::parse("EUR").unwrap());
        assert_eq!(apply_credit(usd(1000), eur).0, usd(1000));
    }

    #[test]
    fn codes_use_an_unambiguous_alphabet() {
        let c = code_from_bytes(&[0, 1, 2, 30, 31, 255, 100, 7]);
        assert_eq!(c.len(), CODE_LEN);
        assert!(!c.contains(['0', 'O', '1', 'I', 'L']));
        assert_eq!(normalise_code(&format!(" {} ", c.to_lowercase())), Some(c));
        assert_eq!(normalise_code("ABC"), None);
        assert_eq!(normalise_code("ABCDEFG0"), None);
    }
}
