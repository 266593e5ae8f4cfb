//! Discount codes (product §16, rules 20 and acceptance check 9): what a code is, how one is
//! checked when an administrator saves it, and the pure `quote` that a checkout asks before it
//! takes money.
//!
//! **Rules.** A code takes either a percentage or a fixed amount off a pay-as-you-go price, never
//! both. It may be limited to some plans (none listed = every plan), to one customer's e-mail (a
//! user-bound code is then usable once, whatever the use limit says), to a number of uses in
//! total, and to a time; by default each customer may use it once. A recurring checkout is never
//! discounted.
//!
//! **Rounding.** A percentage is taken off in whole minor units, the discount rounded half-up:
//! 15 % of 9.99 is 1.4985, so 1.50 comes off and 8.49 is paid. The customer therefore never pays
//! more than half a cent above the exact percentage. A fixed amount comes off as it is.
//!
//! **Never nothing.** A gateway cannot take a payment of nothing, so a code that would bring the
//! price to zero or below is refused (`WouldBeFree`), as is an amount at or above the price
//! (`AmountNotBelowPrice`); the quote is therefore always at least one minor unit.

use crate::Money;
use crate::email::Email;
use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// The longest code; a code is at least [`CODE_MIN`] characters.
pub const CODE_MAX: usize = 32;
pub const CODE_MIN: usize = 3;

/// What a code takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discount {
    /// Whole percent, 1 to 99.
    Percent(u8),
    /// A fixed amount in the site currency, above zero.
    Amount(Money),
}

/// A stored code, as `quote` needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscountCode {
    pub code: String,
    pub discount: Discount,
    /// Plans it applies to; empty = every plan.
    pub plan_ids: Vec<i64>,
    /// The one customer (by e-mail) who may use it; `None` = anyone.
    pub customer_email: Option<Email>,
    /// Unix seconds from which the code no longer works; `None` = never expires.
    pub expires_at: Option<i64>,
    /// Uses allowed in total; `None` = unlimited.
    pub max_uses: Option<u32>,
    /// Uses so far (every customer).
    pub used_count: u32,
    /// Each customer may use it once.
    pub once_per_customer: bool,
    pub active: bool,
}

impl DiscountCode {
    /// The total number of uses allowed: a user-bound code is single-use whatever `max_uses` says.
    pub fn use_limit(&self) -> Option<u32> {
        if self.customer_email.is_some() {
            Some(1)
        } else {
            self.max_uses
        }
    }

    /// Whether every allowed use is taken.
    pub fn used_up(&self) -> bool {
        self.use_limit().is_some_and(|l| self.used_count >= l)
    }

    /// Whether it can no longer be used by anyone at `now`.
    pub fn state(&self, now: i64) -> CodeState {
        if !self.active {
            CodeState::Inactive
        } else if self.expires_at.is_some_and(|t| now >= t) {
            CodeState::Expired
        } else if self.used_up() {
            CodeState::UsedUp
        } else {
            CodeState::Usable
        }
    }
}

/// A code's state for the list page and the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeState {
    Usable,
    Inactive,
    Expired,
    UsedUp,
}

impl CodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeState::Usable => "usable",
            CodeState::Inactive => "inactive",
            CodeState::Expired => "expired",
            CodeState::UsedUp => "used_up",
        }
    }
}

/// Why a code could not be saved, per field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a code is {CODE_MIN} to {CODE_MAX} letters, digits, - or _")]
    CodeLength,
    #[error("\"{0}\" cannot be in a code: use letters A–Z, digits, - or _")]
    CodeCharacter(char),
    #[error("give either a percentage or an amount off, not both")]
    BothKinds,
    #[error("give a percentage or an amount off")]
    NoKind,
    #[error("a percentage off is a whole number from 1 to 99")]
    Percent,
    #[error("an amount off is more than nothing")]
    Amount,
    #[error("the use limit is a whole number of at least 1, or empty for unlimited")]
    MaxUses,
    #[error("the expiry is already past: choose a later date or leave it empty")]
    ExpiryPast,
}

impl CodeError {
    /// The input field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            CodeError::CodeLength | CodeError::CodeCharacter(_) => "code",
            CodeError::BothKinds | CodeError::NoKind | CodeError::Percent => "percent_off",
            CodeError::Amount => "amount_off_minor",
            CodeError::MaxUses => "max_uses",
            CodeError::ExpiryPast => "expires_at",
        }
    }
}

/// Codes are matched without regard to case or surrounding spaces: `  summer-10 ` is `SUMMER-10`.
pub fn normalise_code(raw: &str) -> String {
    raw.trim().to_ascii_uppercase()
}

/// Normalises and checks a code as typed.
pub fn parse_code(raw: &str) -> Result<String, CodeError> {
    let code = normalise_code(raw);
    if let Some(c) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(CodeError::CodeCharacter(c));
    }
    if !(CODE_MIN..=CODE_MAX).contains(&code.len()) {
        return Err(CodeError::CodeLength);
    }
    Ok(code)
}

/// Checks the discount as typed: exactly one of percent and amount.
pub fn parse_discount(
    percent: Option<i64>,
    amount_minor: Option<i64>,
    currency: Currency,
) -> Result<Discount, CodeError> {
    match (percent, amount_minor) {
        (Some(_), Some(_)) => Err(CodeError::BothKinds),
        (None, None) => Err(CodeError::NoKind),
        (Some(p), None) => u8::try_from(p)
            .ok()
            .filter(|p| (1..=99).contains(p))
            .map(Discount::Percent)
            .ok_or(CodeError::Percent),
        (None, Some(a)) if a > 0 => Ok(Discount::Amount(Money::new(a, currency))),
        (None, Some(_)) => Err(CodeError::Amount),
    }
}

/// Checks a use limit as typed: `None` is unlimited.
pub fn parse_max_uses(max: Option<i64>) -> Result<Option<u32>, CodeError> {
    match max {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or(CodeError::MaxUses),
    }
}

/// A new expiry must lie ahead; an unchanged one may be past (editing an expired code's note).
pub fn check_expiry(expires_at: Option<i64>, unchanged: bool, now: i64) -> Result<(), CodeError> {
    match expires_at {
        Some(t) if t <= now && !unchanged => Err(CodeError::ExpiryPast),
        _ => Ok(()),
    }
}

/// Who asks and for what.
#[derive(Clone, Debug)]
pub struct QuoteRequest<'a> {
    pub plan_id: i64,
    /// One period of the plan at its price.
    pub price: Money,
    /// The customer's e-mail, compared with a user-bound code's.
    pub customer_email: &'a Email,
    /// How many times this customer has used this code already.
    pub customer_uses: u32,
    /// A recurring (subscription) checkout: never discounted.
    pub recurring: bool,
    pub now: i64,
}

/// The price after the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub price: Money,
    pub discount: Money,
    pub to_pay: Money,
}

/// Why a code does not apply, each with the sentence the customer reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Refusal {
    #[error("this code is not active")]
    Inactive,
    #[error("this code has expired")]
    Expired,
    #[error("this code has been used as many times as it allows")]
    UsedUp,
    #[error("this code is for another customer")]
    NotYourCode,
    #[error("this code is not valid for this plan")]
    NotForPlan,
    #[error("you have already used this code")]
    AlreadyUsed,
    #[error("discount codes apply to pay-as-you-go payments only, not to recurring subscriptions")]
    Recurring,
    #[error("this code is in {code} and the plan costs {plan}")]
    WrongCurrency { code: String, plan: String },
    #[error("this code takes off {amount}, which is not less than the price of {price}")]
    AmountNotBelowPrice { amount: String, price: String },
    #[error("this code would make the price nothing, which cannot be paid")]
    WouldBeFree,
}

impl Refusal {
    /// A stable identifier for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Inactive => "inactive",
            Refusal::Expired => "expired",
            Refusal::UsedUp => "used_up",
            Refusal::NotYourCode => "not_your_code",
            Refusal::NotForPlan => "not_for_plan",
            Refusal::AlreadyUsed => "already_used",
            Refusal::Recurring => "recurring",
            Refusal::WrongCurrency { .. } => "wrong_currency",
            Refusal::AmountNotBelowPrice { .. } => "amount_not_below_price",
            Refusal::WouldBeFree => "would_be_free",
        }
    }
}

/// `price × percent / 100`, rounded half-up to a whole minor unit; prices are never negative.
pub fn percent_of(price: i64, percent: u8) -> i64 {
    let p = i128::from(price.max(0));
    let off = (p * i128::from(percent) * 2 + 100) / 200;
    // off ≤ price because percent ≤ 100.
    i64::try_from(off).unwrap_or(price)
}

/// The discounted price, or why the code does not apply. Checks run from the code's own state
/// (inactive, expired) to the customer (someone else's code, this plan, already used, used up) to
/// the arithmetic, so the reason given is the most specific one.
pub fn quote(code: &DiscountCode, req: &QuoteRequest<'_>) -> Result<Quote, Refusal> {
    if !code.active {
        return Err(Refusal::Inactive);
    }
    if code.expires_at.is_some_and(|t| req.now >= t) {
        return Err(Refusal::Expired);
    }
    if let Some(owner) = &code.customer_email
        && owner != req.customer_email
    {
        return Err(Refusal::NotYourCode);
    }
    if !code.plan_ids.is_empty() && !code.plan_ids.contains(&req.plan_id) {
        return Err(Refusal::NotForPlan);
    }
    if req.recurring {
        return Err(Refusal::Recurring);
    }
    if (code.once_per_customer || code.customer_email.is_some()) && req.customer_uses > 0 {
        return Err(Refusal::AlreadyUsed);
    }
    if code.used_up() {
        return Err(Refusal::UsedUp);
    }
    let price = req.price;
    let off = match code.discount {
        Discount::Percent(p) => percent_of(price.minor, p),
        Discount::Amount(a) => {
            if a.currency != price.currency {
                return Err(Refusal::WrongCurrency {
                    code: a.currency.to_string(),
                    plan: price.currency.to_string(),
                });
            }
            if a.minor >= price.minor {
                return Err(Refusal::AmountNotBelowPrice {
                    amount: a.to_string(),
                    price: price.to_string(),
                });
            }
            a.minor
        }
    };
    let to_pay = price.minor - off;
    if to_pay <= 0 {
        return Err(Refusal::WouldBeFree);
    }
    Ok(Quote {
        price,
        discount: Money::new(off, price.currency),
        to_pay: Money::new(to_pay, price.currency),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    fn code(discount: Discount) -> DiscountCode {
        DiscountCode {
            code: "SUMMER".into(),
            discount,
            plan_ids: vec![],
            customer_email: None,
            expires_at: None,
            max_uses: None,
            used_count: 0,
            once_per_customer: true,
            active: true,
        }
    }

    fn alex() -> Email {
        Email::parse("alex@example.com").unwrap()
    }

    fn ask<'a>(email: &'a Email, price: i64) -> QuoteRequest<'a> {
        QuoteRequest {
            plan_id: 1,
            price: usd(price),
            customer_email: email,
            customer_uses: 0,
            recurring: false,
            now: NOW,
        }
    }

    #[test]
    fn a_percentage_is_taken_off_rounded_half_up_to_the_cent() {
        let e = alex();
        let q = quote(&code(Discount::Percent(15)), &ask(&e, 999)).unwrap();
        // 15 % of 9.99 = 1.4985 → 1.50 off.
        assert_eq!((q.discount, q.to_pay), (usd(150), usd(849)));
        // 10 % of 10.05 = 1.005 → 1.01 off (half-up).
        let q = quote(&code(Discount::Percent(10)), &ask(&e, 1005)).unwrap();
        assert_eq!((q.discount, q.to_pay), (usd(101), usd(904)));
        // 10 % of 10.04 = 1.004 → 1.00 off.
        let q = quote(&code(Discount::Percent(10)), &ask(&e, 1004)).unwrap();
        assert_eq!(q.to_pay, usd(904));
        assert_eq!(q.price, usd(1004));
    }

    #[test]
    fn a_fixed_amount_comes_off_as_it_is_and_must_be_below_the_price() {
        let e = alex();
        let q = quote(&code(Discount::Amount(usd(250))), &ask(&e, 1000)).unwrap();
        assert_eq!((q.discount, q.to_pay), (usd(250), usd(750)));
        let r = quote(&code(Discount::Amount(usd(1000))), &ask(&e, 1000)).unwrap_err();
        assert_eq!(
            r.to_string(),
            "this code takes off 10.00 USD, which is not less than the price of 10.00 USD"
        );
        assert_eq!(r.code(), "amount_not_below_price");
        let eur = Money::new(100, Currency::parse("EUR").unwrap());
        let r = quote(&code(Discount::Amount(eur)), &ask(&e, 1000)).unwrap_err();
        assert_eq!(r.to_string(), "this code is in EUR and the plan costs USD");
    }

    #[test]
    fn a_percentage_that_rounds_the_price_to_nothing_is_refused() {
        let e = alex();
        // 60 % of 0.01 rounds to 0.01 off: nothing left to pay.
        assert_eq!(
            quote(&code(Discount::Percent(60)), &ask(&e, 1)),
            Err(Refusal::WouldBeFree)
        );
        // A free plan cannot be discounted either.
        assert_eq!(
            quote(&code(Discount::Percent(10)), &ask(&e, 0)),
            Err(Refusal::WouldBeFree)
        );
    }

    #[test]
    fn an_inactive_code_is_refused() {
        let e = alex();
        let c = DiscountCode {
            active: false,
            ..code(Discount::Percent(10))
        };
        assert_eq!(quote(&c, &ask(&e, 1000)), Err(Refusal::Inactive));
        assert_eq!(c.state(NOW), CodeState::Inactive);
    }

    #[test]
    fn an_expired_code_is_refused_from_its_expiry_on() {
        let e = alex();
        let c = DiscountCode {
            expires_at: Some(NOW),
            ..code(Discount::Percent(10))
        };
        assert_eq!(quote(&c, &ask(&e, 1000)), Err(Refusal::Expired));
        assert_eq!(c.state(NOW), CodeState::Expired);
        let before = QuoteRequest {
            now: NOW - 1,
            ..ask(&e, 1000)
        };
        assert!(quote(&c, &before).is_ok());
    }

    #[test]
    fn a_used_up_code_is_refused() {
        let e = alex();
        let c = DiscountCode {
            max_uses: Some(2),
            used_count: 2,
            ..code(Discount::Percent(10))
        };
        assert_eq!(quote(&c, &ask(&e, 1000)), Err(Refusal::UsedUp));
        assert_eq!(c.state(NOW), CodeState::UsedUp);
        let c = DiscountCode { used_count: 1, ..c };
        assert!(quote(&c, &ask(&e, 1000)).is_ok());
    }

    #[test]
    fn a_code_for_other_plans_is_refused() {
        let e = alex();
        let c = DiscountCode {
            plan_ids: vec![2, 3],
            ..code(Discount::Percent(10))
        };
        assert_eq!(quote(&c, &ask(&e, 1000)), Err(Refusal::NotForPlan));
        let on_3 = QuoteRequest {
            plan_id: 3,
            ..ask(&e, 1000)
        };
        assert!(quote(&c, &on_3).is_ok());
    }

    #[test]
    fn a_customer_uses_a_code_once_unless_it_allows_more() {
        let e = alex();
        let again = QuoteRequest {
            customer_uses: 1,
            ..ask(&e, 1000)
        };
        let c = code(Discount::Percent(10));
        assert_eq!(quote(&c, &again), Err(Refusal::AlreadyUsed));
        assert_eq!(
            Refusal::AlreadyUsed.to_string(),
            "you have already used this code"
        );
        let reusable = DiscountCode {
            once_per_customer: false,
            ..c
        };
        assert!(quote(&reusable, &again).is_ok());
    }

    #[test]
    fn a_user_bound_code_is_for_its_customer_once_whatever_the_limit() {
        let e = alex();
        let other = Email::parse("sam@example.com").unwrap();
        let c = DiscountCode {
            customer_email: Some(Email::parse("Alex@Example.com").unwrap()),
            max_uses: Some(10),
            once_per_customer: false,
            ..code(Discount::Percent(10))
        };
        assert_eq!(c.use_limit(), Some(1));
        assert_eq!(quote(&c, &ask(&other, 1000)), Err(Refusal::NotYourCode));
        assert!(quote(&c, &ask(&e, 1000)).is_ok());
        let again = QuoteRequest {
            customer_uses: 1,
            ..ask(&e, 1000)
        };
        assert_eq!(quote(&c, &again), Err(Refusal::AlreadyUsed));
    }

    #[test]
    fn a_recurring_checkout_is_never_discounted() {
        let e = alex();
        let r = QuoteRequest {
            recurring: true,
            ..ask(&e, 1000)
        };
        assert_eq!(
            quote(&code(Discount::Percent(10)), &r),
            Err(Refusal::Recurring)
        );
    }

    #[test]
    fn codes_are_normalised_and_checked_character_by_character() {
        assert_eq!(parse_code("  summer-10 ").unwrap(), "SUMMER-10");
        assert_eq!(parse_code("ab"), Err(CodeError::CodeLength));
        assert_eq!(parse_code(&"A".repeat(33)), Err(CodeError::CodeLength));
        assert_eq!(parse_code("10 OFF"), Err(CodeError::CodeCharacter(' ')));
        assert_eq!(parse_code("CAFÉ"), Err(CodeError::CodeCharacter('É')));
        assert_eq!(
            CodeError::CodeCharacter('%').to_string(),
            "\"%\" cannot be in a code: use letters A–Z, digits, - or _"
        );
        assert_eq!(CodeError::CodeLength.field(), "code");
    }

    #[test]
    fn a_discount_is_a_percentage_or_an_amount_never_both_or_neither() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            parse_discount(Some(10), None, usd),
            Ok(Discount::Percent(10))
        );
        assert_eq!(
            parse_discount(None, Some(500), usd),
            Ok(Discount::Amount(Money::new(500, usd)))
        );
        assert_eq!(
            parse_discount(Some(10), Some(500), usd),
            Err(CodeError::BothKinds)
        );
        assert_eq!(parse_discount(None, None, usd), Err(CodeError::NoKind));
        assert_eq!(parse_discount(Some(0), None, usd), Err(CodeError::Percent));
        assert_eq!(
            parse_discount(Some(100), None, usd),
            Err(CodeError::Percent)
        );
        assert_eq!(parse_discount(None, Some(0), usd), Err(CodeError::Amount));
        assert_eq!(CodeError::Amount.field(), "amount_off_minor");
    }

    #[test]
    fn limits_and_expiry_are_checked() {
        assert_eq!(parse_max_uses(None), Ok(None));
        assert_eq!(parse_max_uses(Some(5)), Ok(Some(5)));
        assert_eq!(parse_max_uses(Some(0)), Err(CodeError::MaxUses));
        assert_eq!(
            check_expiry(Some(NOW - 1), false, NOW),
            Err(CodeError::ExpiryPast)
        );
        assert_eq!(check_expiry(Some(NOW - 1), true, NOW), Ok(()));
        assert_eq!(check_expiry(Some(NOW + 1), false, NOW), Ok(()));
        assert_eq!(check_expiry(None, false, NOW), Ok(()));
    }
}
