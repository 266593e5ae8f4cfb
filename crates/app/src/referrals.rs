//! Referrals (product §8.11): each customer's referral code and link, who referred whom, and the
//! bonus a referrer earns when the customer they referred makes a first payment. The bonus rules
//! are `boxoffice_domain::referrals`; see docs/discounts.md.

use crate::audit::Actor;
use crate::notify::Notice;
use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::coverage::{self, Period};
use boxoffice_domain::money::Currency;
use boxoffice_domain::referrals::{self as rules, Bonus, BonusKind, BonusRules};
use boxoffice_store::Ex;
use boxoffice_store::customers;
use boxoffice_store::payments::{self, NewPayment};
use boxoffice_store::referrals::{self as store, CreditRow, NewCredit};

const DAY: i64 = 86_400;

/// The notification the referrer receives.
pub const REFERRAL_BONUS_EVENT: &str = "referral_bonus";

/// What the first-payment hook did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralCredited {
    pub credit_id: i64,
    pub referrer_customer_id: i64,
    pub bonus: Bonus,
    /// Days added to the referrer's current access now (a days bonus for an active referrer);
    /// otherwise the credit waits for the referrer's next payment.
    pub applied_now: bool,
}

/// Pending credits taken by a payment (see [`App::use_referral_credits_in_tx`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferralCreditsUsed {
    /// Days to add to the payment's period.
    pub days: i64,
    /// Money to take off the payment, per currency.
    pub money: Vec<Money>,
    pub credit_ids: Vec<i64>,
}

/// One credit as the customer's account page shows it.
#[derive(Clone, Debug)]
pub struct CreditView {
    pub at: i64,
    /// "7 days" or "2.00 USD".
    pub bonus: String,
    /// "Added to your access", "Waiting for your next payment" or "Used on your payment".
    pub state: &'static str,
}

/// The referral section of the account page.
#[derive(Clone, Debug)]
pub struct ReferralSummary {
    pub code: String,
    /// The registration link, from the Site URI (relative when the Site URI is not set).
    pub link: String,
    pub referred: i64,
    pub credits: Vec<CreditView>,
    pub bonus_enabled: bool,
    /// What a referral earns now, in words ("7 days", "20% of their first payment").
    pub bonus_terms: String,
}

fn amount_setting(settings: &Settings, key: &str) -> Option<i64> {
    let raw = settings.get(key);
    if raw.is_empty() {
        return None;
    }
    let any = Currency::parse("XXX").ok()?;
    Money::parse_decimal(raw, any).ok().map(|m| m.minor)
}

/// The Referrals settings as bonus rules.
pub fn bonus_rules(settings: &Settings) -> BonusRules {
    BonusRules {
        enabled: settings.bool("referrals.bonus_enabled"),
        kind: BonusKind::parse(settings.get("referrals.bonus_type"))
            .unwrap_or(BonusKind::Percentage),
        value: settings.int("referrals.bonus_value"),
        min_minor: amount_setting(settings, "referrals.bonus_min_amount"),
        max_minor: amount_setting(settings, "referrals.bonus_max_amount"),
    }
}

fn credit_label(c: &CreditRow) -> String {
    if c.kind == "days" {
        Bonus::Days(u32::try_from(c.days).unwrap_or(0)).to_string()
    } else {
        match Currency::parse(&c.currency) {
            Ok(cur) => Money::new(c.amount_minor, cur).to_string(),
            Err(_) => c.amount_minor.to_string(),
        }
    }
}

impl App {
    /// The customer's referral code, made (once, for good) the first time it is asked for.
    pub async fn referral_code(&self, customer_id: i64) -> Result<String, AppError> {
        if let Some(c) = store::code_of(self.db.ex(), customer_id).await? {
            return Ok(c);
        }
        // A clash with another customer's code is retried with fresh bytes; two requests of
        // the same customer racing both read the one that was written.
        for _ in 0..8 {
            let code = rules::code_from_bytes(&crate::crypto::random_bytes()?);
            store::insert_code(self.db.ex(), customer_id, &code, self.now()).await?;
            if let Some(c) = store::code_of(self.db.ex(), customer_id).await? {
                return Ok(c);
            }
        }
        Err(AppError::Internal(
            "no free referral code after 8 tries".into(),
        ))
    }

    /// Records, in the caller's transaction (registration), that `referred_customer_id` came with
    /// the referral code `raw_code` (a link's `ref=`). An unknown code, or a customer's own, is
    /// `Invalid` on field `ref`. A customer is referred once: a second call changes nothing and
    /// answers `Ok(None)`; otherwise the referrer's customer id.
    pub async fn record_referral_in_tx(
        &self,
        mut ex: Ex<'_>,
        referred_customer_id: i64,
        raw_code: &str,
    ) -> Result<Option<i64>, AppError> {
        let unknown = || {
            AppError::invalid(
                "ref",
                format!("\"{}\" is not a referral code", raw_code.trim()),
            )
        };
        let code = rules::normalise_code(raw_code).ok_or_else(unknown)?;
        let referrer = store::owner_of(ex.reborrow(), &code)
            .await?
            .ok_or_else(unknown)?;
        if referrer == referred_customer_id {
            return Err(AppError::invalid(
                "ref",
                "a customer cannot use their own referral code",
            ));
        }
        let wrote =
            store::insert_referral(ex, referred_customer_id, referrer, &code, self.now()).await?;
        Ok(wrote.then_some(referrer))
    }

    /// The first-payment hook: call it in the transaction that records `payment_id`, a payment
    /// of `referred_customer_id` (checkout, webhook or sync), whenever that may be their first.
    ///
    /// When the customer was referred, bonuses are on and the payment is not free, the referrer
    /// earns the bonus of the Referrals settings, once per referred customer however often this
    /// runs (a unique credit per referred customer, written with `ON CONFLICT DO NOTHING`):
    /// - a days bonus for a referrer whose access is current is added to it at once, as a
    ///   payment of nothing (`source = referral`) starting where their coverage ends;
    /// - a days bonus for a referrer without current access, and every percentage bonus, waits
    ///   as a pending credit for the referrer's next payment ([`App::use_referral_credits_in_tx`]).
    ///
    /// The referrer is told (Referral Bonus notice) and so is the administrator (System
    /// Message), in the same transaction. Answers `Ok(None)` when nothing was credited.
    pub async fn credit_referral_in_tx(
        &self,
        mut ex: Ex<'_>,
        referred_customer_id: i64,
        payment_id: i64,
    ) -> Result<Option<ReferralCredited>, AppError> {
        let Some((referrer, code)) =
            store::referrer_of(ex.reborrow(), referred_customer_id).await?
        else {
            return Ok(None);
        };
        if store::credit_for_referred(ex.reborrow(), referred_customer_id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let Some((payer, amount, currency)) =
            store::payment_amount(ex.reborrow(), payment_id).await?
        else {
            return Err(AppError::NotFound("payment"));
        };
        if payer != referred_customer_id {
            return Err(AppError::Internal(format!(
                "payment {payment_id} is not customer {referred_customer_id}'s"
            )));
        }
        if amount <= 0 {
            // A trial or a free period is not the payment that earns the bonus.
            return Ok(None);
        }
        let currency = Currency::parse(&currency)
            .map_err(|e| AppError::Internal(format!("payment {payment_id} currency: {e}")))?;
        let settings = App::settings_in(ex.reborrow()).await?;
        let Some(bonus) = rules::bonus(&bonus_rules(&settings), Money::new(amount, currency))
        else {
            return Ok(None);
        };
        let now = self.now();
        let referrer_row = customers::find(ex.reborrow(), referrer)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let history = payments::list_for_customer(ex.reborrow(), referrer).await?;
        let periods: Vec<Period> = history
            .iter()
            .map(|p| Period::new(p.period_from, p.period_to))
            .collect();
        let active = coverage::covered_until(&periods, now).is_some();
        let (kind, days, money, applied_now) = match bonus {
            Bonus::Days(d) => (
                "days",
                i64::from(d),
                None,
                active && referrer_row.plan_id.is_some(),
            ),
            Bonus::Credit(m) => ("credit", 0, Some(m), false),
        };
        let trigger = format!("payment:{payment_id}");
        let credit_currency = money.map(|m| m.currency.to_string()).unwrap_or_default();
        let Some(credit_id) = store::insert_credit(
            ex.reborrow(),
            &NewCredit {
                referrer,
                referred: referred_customer_id,
                trigger_reference: &trigger,
                kind,
                days,
                amount_minor: money.map_or(0, |m| m.minor),
                currency: &credit_currency,
                state: if applied_now { "applied" } else { "pending" },
                now,
            },
        )
        .await?
        else {
            return Ok(None);
        };
        let referred = customers::find(ex.reborrow(), referred_customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        if applied_now && let Some(plan_id) = referrer_row.plan_id {
            let start = coverage::renewal_start(now, &periods);
            let end = start
                .checked_add(days * DAY)
                .ok_or_else(|| AppError::Internal("bonus days out of range".into()))?;
            let plan_currency = boxoffice_store::provisioning::plan(ex.reborrow(), plan_id)
                .await
                .map_err(AppError::not_found_as("plan"))?
                .currency;
            let payment = payments::insert(
                ex.reborrow(),
                NewPayment {
                    customer_id: referrer,
                    plan_id,
                    amount_minor: 0,
                    currency: &plan_currency,
                    period_from: start,
                    period_to: end,
                    method: "referral",
                    transaction_id: &format!("referral:{credit_id}"),
                    sequence: 1,
                    subscription_id: "",
                    notes: &format!("Referral bonus of {bonus} for referring {}", referred.email),
                    source: "referral",
                    now,
                },
            )
            .await?;
            store::set_bonus_payment(ex.reborrow(), credit_id, payment.id).await?;
            let mut all = periods.clone();
            all.push(Period::new(start, end));
            let until = coverage::covered_until(&all, now).or_else(|| coverage::coverage_end(&all));
            customers::set_coverage(ex.reborrow(), referrer, Some(plan_id), until, now).await?;
        }
        let told = if applied_now {
            format!("{bonus} added to your access")
        } else {
            match bonus {
                Bonus::Days(_) => format!("{bonus}, added with your next payment"),
                Bonus::Credit(_) => bonus.to_string(),
            }
        };
        self.notify(
            ex.reborrow(),
            Notice::to_customer(REFERRAL_BONUS_EVENT, referrer)
                .with("referral_bonus", told.clone())
                .with("referral_code", code.clone())
                .once(format!("referral_credit:{credit_id}")),
        )
        .await?;
        self.notify(
            ex.reborrow(),
            Notice::system_message(
                "Referral bonus",
                &format!(
                    "{} paid for the first time; {} referred them with code {code} and earned {told}.",
                    referred.email, referrer_row.email
                ),
            )
            .once(format!("referral_credit_admin:{credit_id}")),
        )
        .await?;
        self.audit(
            ex,
            &Actor::system(),
            "referrals.credit",
            &format!("customer:{referrer}"),
            &format!("{bonus} for customer {referred_customer_id}'s payment {payment_id}"),
        )
        .await?;
        Ok(Some(ReferralCredited {
            credit_id,
            referrer_customer_id: referrer,
            bonus,
            applied_now,
        }))
    }

    /// Takes every pending referral credit of `customer_id` for the payment `reference`
    /// (`"payment:<id>"` or `"checkout:<id>"`), in the caller's transaction: the days go onto the
    /// payment's period, the money off its price (`boxoffice_domain::referrals::apply_credit`).
    /// Each credit is taken once; a second call finds none.
    pub async fn use_referral_credits_in_tx(
        &self,
        ex: Ex<'_>,
        customer_id: i64,
        reference: &str,
    ) -> Result<ReferralCreditsUsed, AppError> {
        let rows = store::use_pending(ex, customer_id, reference, self.now()).await?;
        let mut out = ReferralCreditsUsed::default();
        for r in rows {
            out.credit_ids.push(r.id);
            if r.kind == "days" {
                out.days += r.days;
            } else if let Ok(cur) = Currency::parse(&r.currency) {
                match out.money.iter_mut().find(|m| m.currency == cur) {
                    Some(m) => m.minor += r.amount_minor,
                    None => out.money.push(Money::new(r.amount_minor, cur)),
                }
            }
        }
        Ok(out)
    }

    /// The referral section of `customer_id`'s account page.
    pub async fn referral_summary(&self, customer_id: i64) -> Result<ReferralSummary, AppError> {
        let code = self.referral_code(customer_id).await?;
        let settings = self.settings().await?;
        let base = settings.get("general.site_uri").trim_end_matches('/');
        let referred = store::referred_count(self.db.ex(), customer_id).await?;
        let credits = store::credits_of(self.db.ex(), customer_id)
            .await?
            .iter()
            .map(|c| CreditView {
                at: c.created_at,
                bonus: credit_label(c),
                state: match c.state.as_str() {
                    "applied" => "Added to your access",
                    "pending" => "Waiting for your next payment",
                    _ => "Used on a payment",
                },
            })
            .collect();
        let r = bonus_rules(&settings);
        let bonus_terms = match r.kind {
            BonusKind::Days => Bonus::Days(u32::try_from(r.value.max(0)).unwrap_or(0)).to_string(),
            BonusKind::Percentage => format!(
                "{}% of their first payment, off your next payment",
                r.value.clamp(0, 100)
            ),
        };
        Ok(ReferralSummary {
            link: format!("{base}/register?ref={code}"),
            code,
            referred,
            credits,
            bonus_enabled: r.enabled && r.value > 0,
            bonus_terms,
        })
    }
}
