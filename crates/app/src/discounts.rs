//! Discount codes (product §16): the administrator's list and form, the quote a checkout shows,
//! and the use a checkout records in its own transaction. The rules are
//! `boxoffice_domain::discounts`; see docs/discounts.md.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::discounts::{
    self as rules, CodeError, CodeState, Discount, DiscountCode, QuoteRequest, Refusal,
};
use boxoffice_domain::money::Currency;
use boxoffice_domain::{Email, Money};
use boxoffice_store::discounts::{self as store, CodeRecord, CodeValues, NewRedemption};
use boxoffice_store::{Ex, StoreError, customers, provisioning};

/// A code as typed into the form or sent to the API.
#[derive(Clone, Debug, Default)]
pub struct DiscountCodeInput {
    pub code: String,
    pub description: String,
    /// Whole percent (1–99); exactly one of this and `amount_off_minor`.
    pub percent_off: Option<i64>,
    /// Minor units of the site currency.
    pub amount_off_minor: Option<i64>,
    /// Blank = anyone; otherwise only this customer, once.
    pub customer_email: String,
    /// Empty = every plan.
    pub plan_ids: Vec<i64>,
    /// Unix seconds; `None` = never.
    pub expires_at: Option<i64>,
    /// `None` = unlimited.
    pub max_uses: Option<i64>,
    pub once_per_customer: bool,
    pub active: bool,
}

/// One field the administrator must change, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: &'static str,
    pub message: String,
}

impl FieldIssue {
    fn of(e: CodeError) -> Self {
        Self {
            field: e.field(),
            message: e.to_string(),
        }
    }
}

/// A stored code with what the list shows.
#[derive(Clone, Debug)]
pub struct DiscountCodeView {
    pub record: CodeRecord,
    pub rule: DiscountCode,
    pub state: CodeState,
}

impl DiscountCodeView {
    /// "15%" or "2.50 USD".
    pub fn discount_label(&self) -> String {
        match self.rule.discount {
            Discount::Percent(p) => format!("{p}%"),
            Discount::Amount(m) => m.to_string(),
        }
    }
}

/// What a code does to one plan's price for one customer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DiscountQuote {
    pub code_id: i64,
    pub code: String,
    pub plan_id: i64,
    pub price: Money,
    pub discount: Money,
    pub to_pay: Money,
}

/// A use recorded by [`App::redeem_in_tx`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub redemption_id: i64,
    pub quote: DiscountQuote,
    /// The same reference was recorded before: nothing new was counted.
    pub replayed: bool,
}

/// The message shown when no code is spelled that way.
pub const UNKNOWN_CODE: &str = "there is no such discount code";

/// A refusal, or an unknown code, as the customer reads it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscountRefused {
    #[error("{UNKNOWN_CODE}")]
    Unknown,
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl DiscountRefused {
    /// A stable identifier for the API.
    pub fn code(&self) -> &'static str {
        match self {
            DiscountRefused::Unknown => "unknown",
            DiscountRefused::Refused(r) => r.code(),
        }
    }
}

fn currency_of(raw: &str) -> Result<Currency, AppError> {
    Currency::parse(raw).map_err(|e| AppError::Internal(format!("stored currency: {e}")))
}

/// The stored row as the domain's code.
pub fn to_rule(r: &CodeRecord) -> Result<DiscountCode, AppError> {
    let c = &r.code;
    let discount = match (c.percent_off, c.amount_off_minor) {
        (Some(p), _) => Discount::Percent(
            u8::try_from(p).map_err(|_| AppError::Internal(format!("code {} percent", c.id)))?,
        ),
        (None, Some(a)) => Discount::Amount(Money::new(a, currency_of(&c.currency)?)),
        (None, None) => {
            return Err(AppError::Internal(format!(
                "discount code {} has no discount",
                c.id
            )));
        }
    };
    let customer_email = if c.customer_email.is_empty() {
        None
    } else {
        Some(
            Email::parse(&c.customer_email)
                .map_err(|e| AppError::Internal(format!("code {} e-mail: {e}", c.id)))?,
        )
    };
    Ok(DiscountCode {
        code: c.code.clone(),
        discount,
        plan_ids: r.plan_ids.clone(),
        customer_email,
        expires_at: c.expires_at,
        max_uses: c.max_uses.and_then(|n| u32::try_from(n).ok()),
        used_count: u32::try_from(c.used_count.max(0)).unwrap_or(u32::MAX),
        once_per_customer: c.once_per_customer,
        active: c.active,
    })
}

impl App {
    fn view(&self, record: CodeRecord) -> Result<DiscountCodeView, AppError> {
        let rule = to_rule(&record)?;
        let state = rule.state(self.now());
        Ok(DiscountCodeView {
            record,
            rule,
            state,
        })
    }

    pub async fn list_discount_codes(&self) -> Result<Vec<DiscountCodeView>, AppError> {
        store::list(self.db.ex())
            .await?
            .into_iter()
            .map(|r| self.view(r))
            .collect()
    }

    pub async fn discount_code(&self, id: i64) -> Result<DiscountCodeView, AppError> {
        let r = store::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("discount code"))?;
        self.view(r)
    }

    /// A code's uses with each customer's e-mail, newest first.
    pub async fn discount_code_uses(
        &self,
        id: i64,
    ) -> Result<Vec<(store::RedemptionRow, String)>, AppError> {
        Ok(store::redemptions(self.db.ex(), id).await?)
    }

    /// Every field of `input` that cannot be saved (all of them, for a form that marks each).
    /// `id` is the code being edited, if any.
    pub async fn discount_code_problems(
        &self,
        id: Option<i64>,
        input: &DiscountCodeInput,
    ) -> Result<Vec<FieldIssue>, AppError> {
        let mut ex = self.db.ex();
        Ok(self
            .check(ex.reborrow(), id, input)
            .await?
            .err()
            .unwrap_or_default())
    }

    async fn check(
        &self,
        mut ex: Ex<'_>,
        id: Option<i64>,
        input: &DiscountCodeInput,
    ) -> Result<Result<CodeValues, Vec<FieldIssue>>, AppError> {
        let settings = App::settings_in(ex.reborrow()).await?;
        let currency = currency_of(settings.get("payments.currency"))?;
        let now = self.now();
        let existing = match id {
            Some(id) => Some(
                store::find(ex.reborrow(), id)
                    .await
                    .map_err(AppError::not_found_as("discount code"))?,
            ),
            None => None,
        };
        let mut issues = Vec::new();
        let code = match rules::parse_code(&input.code) {
            Ok(c) => {
                if store::code_taken(ex.reborrow(), &c, id).await? {
                    issues.push(FieldIssue {
                        field: "code",
                        message: format!("the code {c} already exists"),
                    });
                }
                c
            }
            Err(e) => {
                issues.push(FieldIssue::of(e));
                String::new()
            }
        };
        if input.description.chars().count() > 500 {
            issues.push(FieldIssue {
                field: "description",
                message: "at most 500 characters".into(),
            });
        }
        if let Err(e) = rules::parse_discount(input.percent_off, input.amount_off_minor, currency) {
            issues.push(FieldIssue::of(e));
        }
        let max_uses = match rules::parse_max_uses(input.max_uses) {
            Ok(m) => m,
            Err(e) => {
                issues.push(FieldIssue::of(e));
                None
            }
        };
        let unchanged =
            existing.as_ref().and_then(|r| r.code.expires_at) == input.expires_at && id.is_some();
        if let Err(e) = rules::check_expiry(input.expires_at, unchanged, now) {
            issues.push(FieldIssue::of(e));
        }
        let email = input.customer_email.trim();
        let (customer_email, customer_email_key) = if email.is_empty() {
            (String::new(), String::new())
        } else {
            match Email::parse(email) {
                Ok(e) => (e.as_str().to_string(), e.normalized()),
                Err(e) => {
                    issues.push(FieldIssue {
                        field: "customer_email",
                        message: e.to_string(),
                    });
                    (String::new(), String::new())
                }
            }
        };
        let mut plan_ids = input.plan_ids.clone();
        plan_ids.sort_unstable();
        plan_ids.dedup();
        let known: Vec<i64> = boxoffice_store::plans::list(ex.reborrow())
            .await?
            .into_iter()
            .map(|p| p.plan.id)
            .collect();
        if let Some(bad) = plan_ids.iter().find(|p| !known.contains(p)) {
            issues.push(FieldIssue {
                field: "plan_ids",
                message: format!("there is no plan {bad}"),
            });
        }
        if !issues.is_empty() {
            return Ok(Err(issues));
        }
        Ok(Ok(CodeValues {
            code,
            description: input.description.trim().to_string(),
            percent_off: input.percent_off,
            amount_off_minor: input.amount_off_minor,
            currency: if input.amount_off_minor.is_some() {
                currency.to_string()
            } else {
                String::new()
            },
            customer_email,
            customer_email_key,
            expires_at: input.expires_at,
            max_uses: max_uses.map(i64::from),
            once_per_customer: input.once_per_customer,
            active: input.active,
            plan_ids,
        }))
    }

    /// Adds (`id = None`) or replaces a code. A refused field is `Invalid` naming the first one;
    /// [`App::discount_code_problems`] lists them all. The use count is never changed here.
    pub async fn save_discount_code(
        &self,
        actor: &Actor,
        id: Option<i64>,
        input: &DiscountCodeInput,
    ) -> Result<i64, AppError> {
        let mut tx = self.db.begin().await?;
        let v = match self.check(tx.ex(), id, input).await? {
            Ok(v) => v,
            Err(issues) => {
                let first = issues.into_iter().next();
                return Err(first.map_or_else(
                    || AppError::invalid("code", "the code cannot be saved"),
                    |i| AppError::invalid(i.field, i.message),
                ));
            }
        };
        let saved = |e: StoreError| {
            if e.is_conflict() {
                AppError::invalid("code", format!("the code {} already exists", v.code))
            } else if e.is_not_found() {
                AppError::NotFound("discount code")
            } else {
                AppError::Store(e)
            }
        };
        let now = self.now();
        let (id, action) = match id {
            Some(id) => {
                store::update(tx.ex(), id, &v, now).await.map_err(saved)?;
                (id, "discount_codes.update")
            }
            None => (
                store::insert(tx.ex(), &v, now).await.map_err(saved)?,
                "discount_codes.add",
            ),
        };
        self.audit(
            tx.ex(),
            actor,
            action,
            &format!("discount_code:{id}"),
            &v.code,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deactivates (or reactivates) a code. Codes are never deleted: their uses stay on record.
    pub async fn set_discount_code_active(
        &self,
        actor: &Actor,
        id: i64,
        active: bool,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let r = store::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("discount code"))?;
        store::set_active(tx.ex(), id, active, self.now()).await?;
        let action = if active {
            "discount_codes.activate"
        } else {
            "discount_codes.deactivate"
        };
        self.audit(
            tx.ex(),
            actor,
            action,
            &format!("discount_code:{id}"),
            &r.code.code,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What `code` does to one period of `plan_id` for `customer_id`, for the checkout page
    /// before any money moves. `recurring` is true for a subscription checkout, which codes never
    /// discount. Answers `Ok(Err(_))` with the reason the customer reads when the code does not
    /// apply; `Err` only for a failure (or an unknown plan or customer).
    pub async fn quote_discount(
        &self,
        customer_id: i64,
        plan_id: i64,
        code: &str,
        recurring: bool,
    ) -> Result<Result<DiscountQuote, DiscountRefused>, AppError> {
        let mut ex = self.db.ex();
        Ok(self
            .quote_in(ex.reborrow(), customer_id, plan_id, code, recurring)
            .await?
            .map(|(q, _)| q))
    }

    async fn quote_in(
        &self,
        mut ex: Ex<'_>,
        customer_id: i64,
        plan_id: i64,
        code: &str,
        recurring: bool,
    ) -> Result<Result<(DiscountQuote, DiscountCode), DiscountRefused>, AppError> {
        let record = match store::find_by_code(ex.reborrow(), &rules::normalise_code(code)).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(Err(DiscountRefused::Unknown)),
            Err(e) => return Err(e.into()),
        };
        let rule = to_rule(&record)?;
        let customer = customers::find(ex.reborrow(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let email = Email::parse(&customer.email)
            .map_err(|e| AppError::Internal(format!("stored e-mail is invalid: {e}")))?;
        let plan = provisioning::plan(ex.reborrow(), plan_id)
            .await
            .map_err(AppError::not_found_as("plan"))?;
        let price = Money::new(plan.cost_minor, currency_of(&plan.currency)?);
        let uses = store::customer_uses(ex.reborrow(), record.code.id, customer_id).await?;
        let req = QuoteRequest {
            plan_id,
            price,
            customer_email: &email,
            customer_uses: u32::try_from(uses.max(0)).unwrap_or(u32::MAX),
            recurring,
            now: self.now(),
        };
        Ok(match rules::quote(&rule, &req) {
            Ok(q) => Ok((
                DiscountQuote {
                    code_id: record.code.id,
                    code: record.code.code.clone(),
                    plan_id,
                    price: q.price,
                    discount: q.discount,
                    to_pay: q.to_pay,
                },
                rule,
            )),
            Err(r) => Err(r.into()),
        })
    }

    /// Records one use of `code` by `customer_id` for one pay-as-you-go period of `plan_id`,
    /// inside the caller's transaction (`tx.ex()`), and counts it against the code's limit.
    ///
    /// - `reference` names what the discount lowered, `"payment:<id>"` or `"checkout:<id>"`.
    ///   Calling again with the same code and reference (a retried webhook, a replayed checkout)
    ///   records nothing and answers the first use with `replayed: true`.
    /// - The code is checked again as [`App::quote_discount`] does, at the transaction's view of
    ///   the data: a code that expired, was used up or deactivated since the quote answers
    ///   `Ok(Err(refusal))`, and then nothing was written (the caller decides whether to charge
    ///   the full price or stop). Two checkouts racing for the last use cannot both have it: the
    ///   count is taken by one conditional update.
    /// - The price is the plan's cost now; the answer carries the amount to charge.
    /// - Nothing here can end the caller's transaction on PostgreSQL: no statement relies on a
    ///   unique violation.
    pub async fn redeem_in_tx(
        &self,
        mut ex: Ex<'_>,
        customer_id: i64,
        plan_id: i64,
        code: &str,
        reference: &str,
    ) -> Result<Result<Redeemed, DiscountRefused>, AppError> {
        let normal = rules::normalise_code(code);
        let record = match store::find_by_code(ex.reborrow(), &normal).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(Err(DiscountRefused::Unknown)),
            Err(e) => return Err(e.into()),
        };
        if let Some(done) = store::redemption_for(ex.reborrow(), record.code.id, reference).await? {
            let currency = currency_of(&done.currency)?;
            return Ok(Ok(Redeemed {
                redemption_id: done.id,
                quote: DiscountQuote {
                    code_id: record.code.id,
                    code: record.code.code.clone(),
                    plan_id: done.plan_id.unwrap_or(plan_id),
                    price: Money::new(done.price_minor, currency),
                    discount: Money::new(done.discount_minor, currency),
                    to_pay: Money::new(done.price_minor - done.discount_minor, currency),
                },
                replayed: true,
            }));
        }
        let (quote, rule) = match self
            .quote_in(ex.reborrow(), customer_id, plan_id, &normal, false)
            .await?
        {
            Ok(q) => q,
            Err(r) => return Ok(Err(r)),
        };
        let once = rule.once_per_customer || rule.customer_email.is_some();
        let now = self.now();
        let Some(redemption_id) = store::insert_redemption(
            ex.reborrow(),
            &NewRedemption {
                code_id: quote.code_id,
                customer_id,
                reference,
                once_per_customer: once,
                plan_id,
                price_minor: quote.price.minor,
                discount_minor: quote.discount.minor,
                currency: quote.price.currency.as_str(),
                now,
            },
        )
        .await?
        else {
            // Another transaction recorded this customer's one use since the quote.
            return Ok(Err(Refusal::AlreadyUsed.into()));
        };
        let limit = rule.use_limit().map(i64::from);
        if !store::take_use(ex.reborrow(), quote.code_id, limit, now).await? {
            store::delete_redemption(ex, redemption_id).await?;
            return Ok(Err(Refusal::UsedUp.into()));
        }
        Ok(Ok(Redeemed {
            redemption_id,
            quote,
            replayed: false,
        }))
    }
}
