//! Checkout as a use case (product §28.2): a customer picks a plan and a gateway; capacity for
//! the plan is checked before any gateway is called; the checkout row is written first and its
//! id derives the gateway call's idempotency key; the customer is sent to the gateway's hosted
//! page. The payment itself arrives by webhook (or when the customer comes back, whichever is
//! first) and the ledger provisions the customer by a job.
//!
//! Discount codes plug in at [`App::price_checkout`]: it answers the price to charge and what a
//! code took off, and the checkout row keeps both.

use boxoffice_domain::selection::NoCapacityCause;
use boxoffice_domain::{Email, Money};
use boxoffice_payments::{
    CheckoutOutcome, CheckoutRequest as GatewayCheckout, CheckoutState, EventKind, PaymentError,
    RecurringCheckoutRequest, WebhookEvent,
};
use boxoffice_store::checkouts::{self, CheckoutRow, NewCheckout};
use boxoffice_store::customers::{self, CustomerRow, NewCustomer};
use boxoffice_store::referrals::{self, CreditRow};
use boxoffice_store::{Ex, StoreError, Tx, admin_events, plan_change_checkouts, waiting};
use serde_json::json;

use super::ledger::{CONFIRM_CHECKOUT_JOB, PROVISION_JOB, checkout_reference};
use super::plan_change::CheckoutExtras;
use super::{GatewayUnavailable, Provider};
use crate::audit::Actor;
use crate::notify::{Notice, money};
use crate::subscriptions::plan::{self, LoadedPlan};
use crate::subscriptions::provision::Provisioned;
use crate::{App, AppError};

/// The admin notice when a customer is refused for want of room (operations §5.10).
pub const SERVERS_FULL_TEXT: &str = "User tried to subscribe but servers are full";
/// Its admin event kind.
pub const SERVERS_FULL_EVENT: &str = "servers_full";
/// What the customer reads instead.
pub const SERVERS_FULL_CUSTOMER: &str = "There is no room for new subscribers on this plan right now, so nothing was charged. The site's administrator has been told; please try again later.";
/// What the customer reads when the plan's servers are on a platform they gave no account for.
pub const NO_ACCOUNT_FOR_PLATFORM: &str = "The servers for this plan need a media account you have not given us yet (for Plex, the e-mail of your Plex account). Nothing was charged: use Contact us to add it, then try again.";
/// At most one "servers full" notice per plan in this many seconds.
const SERVERS_FULL_EVERY_SECS: i64 = 6 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutMode {
    /// Pay as you go: one payment for one plan period.
    OneOff,
    /// The gateway bills every period (Stripe price, PayPal plan).
    Recurring,
}

impl CheckoutMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutMode::OneOff => "one_off",
            CheckoutMode::Recurring => "recurring",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "one_off" => Some(CheckoutMode::OneOff),
            "recurring" => Some(CheckoutMode::Recurring),
            _ => None,
        }
    }
}

/// What the customer chose.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub plan_id: i64,
    pub provider: Provider,
    pub mode: CheckoutMode,
    /// A discount code as typed; see [`App::price_checkout`].
    pub discount_code: Option<String>,
    /// This site's address as the customer reached it, used for the return links when
    /// `general.site_uri` is empty.
    pub origin: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckoutStarted {
    pub checkout_id: i64,
    /// The gateway's hosted page.
    pub redirect_url: String,
}

/// Why a checkout was not started. Nothing was charged in any case.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutRefused {
    /// No server has room for the plan; the administrator was told.
    #[error("{SERVERS_FULL_CUSTOMER}")]
    ServersFull { cause: NoCapacityCause },
    /// The gateway refused or could not be reached; the checkout row says why.
    #[error("{provider} could not start the payment: {message}")]
    Gateway { provider: Provider, message: String },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for CheckoutRefused {
    fn from(e: StoreError) -> Self {
        CheckoutRefused::App(e.into())
    }
}

impl From<GatewayUnavailable> for CheckoutRefused {
    fn from(e: GatewayUnavailable) -> Self {
        CheckoutRefused::App(e.into())
    }
}

/// What a checkout costs after any discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPrice {
    pub amount: Money,
    /// The code as applied ("" for none) and what it took off.
    pub discount_code: String,
    pub discount_minor: i64,
}

/// One plan as the checkout page offers it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanOffer {
    pub plan_id: i64,
    pub name: String,
    pub description: String,
    pub price: String,
    pub duration: String,
    /// Gateways that can bill this plan every period.
    pub recurring: Vec<Provider>,
    /// A Plex server can serve it: the customer is told about Plex's remote playback rules.
    pub plex: bool,
}

/// Everything the checkout page needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckoutOptions {
    /// Subscriptions are switched off in the settings.
    pub closed: bool,
    pub plans: Vec<PlanOffer>,
    /// Enabled gateways, in display order.
    pub providers: Vec<Provider>,
    /// Origins of the enabled gateways' hosted pages, where the checkout form leads.
    pub destinations: Vec<String>,
}

/// A checkout as its customer sees it after coming back from the gateway.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckoutStatus {
    pub checkout_id: i64,
    pub provider: Provider,
    pub state: String,
    pub plan_name: String,
    pub amount: String,
    /// Paid, but no server had room yet: why, as selection said it.
    pub waiting_for_server: Option<String>,
    /// End of paid coverage, Unix seconds.
    pub covered_until: Option<i64>,
    pub error: String,
}

pub(crate) fn duration_text(unit: &str, count: i64) -> String {
    let unit = match (unit, count) {
        ("months", 1) => "month",
        ("months", _) => "months",
        (_, 1) => "day",
        _ => "days",
    };
    format!("{count} {unit}")
}

impl App {
    /// The plans and gateways the checkout page offers.
    pub async fn checkout_options(&self) -> Result<CheckoutOptions, AppError> {
        let s = self.settings().await?;
        let providers = App::enabled_providers(&s);
        let plex_plans = self.plex_plan_ids().await?;
        let stripe_recurring = s.bool("payments.stripe.recurring_enabled");
        let paypal_recurring = s.bool("payments.paypal.recurring_enabled");
        let plans = self
            .list_plans()
            .await?
            .into_iter()
            .filter(|p| p.plan.active && !p.plan.is_trial)
            .map(|p| {
                let mut recurring = Vec::new();
                if stripe_recurring
                    && !p.plan.stripe_price_id.is_empty()
                    && providers.contains(&Provider::Stripe)
                {
                    recurring.push(Provider::Stripe);
                }
                if paypal_recurring
                    && !p.plan.paypal_plan_id.is_empty()
                    && providers.contains(&Provider::PayPal)
                {
                    recurring.push(Provider::PayPal);
                }
                PlanOffer {
                    plan_id: p.plan.id,
                    name: p.plan.name.clone(),
                    description: p.plan.description.clone(),
                    price: money(p.plan.cost_minor, &p.plan.currency),
                    duration: duration_text(&p.plan.duration_unit, p.plan.duration_count),
                    recurring,
                    plex: plex_plans.contains(&p.plan.id),
                }
            })
            .collect();
        Ok(CheckoutOptions {
            closed: !s.bool("subscriptions.enabled"),
            plans,
            providers,
            destinations: App::hosted_page_origins(&s),
        })
    }

    /// The referral credits waiting for the next pay-as-you-go checkout of the customer of
    /// `login_id`, one total per currency ("2.00 USD"), for the checkout page.
    pub async fn checkout_referral_credit(
        &self,
        login_id: i64,
        email: &str,
    ) -> Result<Vec<String>, AppError> {
        let Some(c) = self.customer_of_login(login_id, email).await? else {
            return Ok(Vec::new());
        };
        let mut totals: Vec<(String, i64)> = Vec::new();
        for r in referrals::credits_of(self.db.ex(), c.id).await? {
            if r.state != "pending" || r.kind != "credit" || r.amount_minor <= 0 {
                continue;
            }
            match totals.iter_mut().find(|(cur, _)| *cur == r.currency) {
                Some((_, n)) => *n += r.amount_minor,
                None => totals.push((r.currency.clone(), r.amount_minor)),
            }
        }
        Ok(totals.iter().map(|(cur, n)| money(*n, cur)).collect())
    }

    /// The price of `plan` for `customer`, after the discount code if one is given.
    ///
    /// A code is checked here, inside the transaction that writes the checkout, with the
    /// customer's reason when it does not apply; its use is counted once the checkout row exists
    /// ([`App::redeem_checkout_discount`]), so a code's last use goes to one checkout only.
    pub async fn price_checkout(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan_id: i64,
        base: Money,
        mode: CheckoutMode,
        code: Option<&str>,
    ) -> Result<CheckoutPrice, AppError> {
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = code {
            if mode == CheckoutMode::Recurring {
                return Err(AppError::invalid(
                    "discount_code",
                    "discount codes apply to pay-as-you-go checkouts only",
                ));
            }
            return match self
                .quote_in(tx.ex(), customer.id, plan_id, c, false)
                .await?
            {
                Ok((q, _)) => Ok(CheckoutPrice {
                    amount: q.to_pay,
                    discount_code: q.code,
                    discount_minor: q.discount.minor,
                }),
                Err(refused) => Err(AppError::invalid("discount_code", refused.to_string())),
            };
        }
        Ok(CheckoutPrice {
            amount: base,
            discount_code: String::new(),
            discount_minor: 0,
        })
    }

    /// Counts the checkout's use of its discount code, in the transaction that writes the
    /// checkout. A code used up or changed since [`App::price_checkout`] priced it refuses the
    /// checkout (nothing is written), with the customer's reason.
    async fn redeem_checkout_discount(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan_id: i64,
        price: &CheckoutPrice,
        checkout_id: i64,
    ) -> Result<(), AppError> {
        let reference = format!("checkout:{checkout_id}");
        match self
            .redeem_in_tx(
                tx.ex(),
                customer.id,
                plan_id,
                &price.discount_code,
                &reference,
            )
            .await?
        {
            Ok(r) if r.quote.to_pay == price.amount => Ok(()),
            Ok(_) => Err(AppError::invalid(
                "discount_code",
                "the discount changed while you were checking out; please try again",
            )),
            Err(refused) => Err(AppError::invalid("discount_code", refused.to_string())),
        }
    }

    /// The customer of a site login, as checkout needs one: the existing customer, or (not yet
    /// stored, id 0) what a new one would be, with the login's e-mail as their identity.
    pub(crate) async fn checkout_customer(
        &self,
        ex: Ex<'_>,
        login_id: i64,
        email: &str,
    ) -> Result<CustomerRow, AppError> {
        if let Some(c) = self.customer_of_login(login_id, email).await? {
            return Ok(c);
        }
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        if let Ok(c) = customers::find_by_email_key(ex, &email.normalized()).await {
            return Ok(c);
        }
        let now = self.now();
        Ok(CustomerRow {
            id: 0,
            email: email.as_str().to_string(),
            email_key: email.normalized(),
            display_name: String::new(),
            plex_email: email.as_str().to_string(),
            jellyfin_username: email.as_str().to_string(),
            emby_username: email.as_str().to_string(),
            permanent: false,
            paypal_email: String::new(),
            notes: String::new(),
            plan_id: None,
            preferred_location_id: None,
            covered_until: None,
            deleting_at: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Starts a checkout for the customer of `login_id` (see the module doc). Capacity is
    /// checked before the gateway is called; a refusal charges nothing.
    pub async fn start_checkout(
        &self,
        login_id: i64,
        login_email: &str,
        req: CheckoutRequest,
    ) -> Result<CheckoutStarted, CheckoutRefused> {
        self.start_checkout_with(login_id, login_email, req, CheckoutExtras::default())
            .await
    }

    /// [`Self::start_checkout`] with the checkout page's further choices: the server location,
    /// and whether the plan bought replaces the current one now (a plan change with credit).
    pub async fn start_checkout_with(
        &self,
        login_id: i64,
        login_email: &str,
        req: CheckoutRequest,
        extras: CheckoutExtras,
    ) -> Result<CheckoutStarted, CheckoutRefused> {
        let now = self.now();
        let settings = self.settings().await?;
        if !settings.bool("subscriptions.enabled") {
            return Err(AppError::Conflict("subscriptions are closed on this site".into()).into());
        }
        let record = self
            .plan(req.plan_id)
            .await
            .map_err(|_| AppError::invalid("plan_id", "choose one of the plans offered"))?;
        if !record.plan.active || record.plan.is_trial {
            return Err(AppError::invalid("plan_id", "choose one of the plans offered").into());
        }
        let gateway_plan = match (req.mode, req.provider) {
            (CheckoutMode::OneOff, _) => None,
            (CheckoutMode::Recurring, Provider::Stripe)
                if settings.bool("payments.stripe.recurring_enabled")
                    && !record.plan.stripe_price_id.is_empty() =>
            {
                Some(record.plan.stripe_price_id.clone())
            }
            (CheckoutMode::Recurring, Provider::PayPal)
                if settings.bool("payments.paypal.recurring_enabled")
                    && !record.plan.paypal_plan_id.is_empty() =>
            {
                Some(record.plan.paypal_plan_id.clone())
            }
            (CheckoutMode::Recurring, p) => {
                return Err(AppError::invalid(
                    "mode",
                    format!(
                        "{} cannot bill {} every period: choose pay as you go",
                        p, record.plan.name
                    ),
                )
                .into());
            }
        };
        // Built now (no call is made) so a switched-off gateway is refused before anything is
        // written.
        let gateway = self.gateways.gateway(self, &settings, req.provider)?;
        let mut tx = self.db.begin().await?;
        let customer = self
            .checkout_customer(tx.ex(), login_id, login_email)
            .await?;
        if customer.deleting_at.is_some() {
            return Err(AppError::Conflict("this account is being deleted".into()).into());
        }
        self.check_trial_first(tx.ex(), &settings, &customer)
            .await?;
        let from_plan = match extras.change_plan {
            true => Some(self.check_plan_change(&mut tx, &customer, &req).await?),
            false => None,
        };
        let plan = plan::load(tx.ex(), req.plan_id).await?;
        let (mut tx, customer) = self
            .place_checkout_customer(tx, customer, &plan, extras.location_id)
            .await?;
        let price = self
            .price_checkout(
                &mut tx,
                &customer,
                req.plan_id,
                plan.plan.cost,
                req.mode,
                req.discount_code.as_deref(),
            )
            .await?;
        // Pending referral credits come off a pay-as-you-go price, after any discount.
        let credits = match req.mode {
            CheckoutMode::OneOff => {
                referrals::pending_money(tx.ex(), customer.id, price.amount.currency.as_str())
                    .await?
            }
            CheckoutMode::Recurring => Vec::new(),
        };
        let (taken, credit_minor) = money_credits(&credits, price.amount);
        let to_pay = Money::new(price.amount.minor - credit_minor, price.amount.currency);
        let row = checkouts::insert(
            tx.ex(),
            NewCheckout {
                customer_id: customer.id,
                plan_id: req.plan_id,
                provider: req.provider.as_str(),
                mode: req.mode.as_str(),
                amount_minor: to_pay.minor,
                currency: to_pay.currency.as_str(),
                discount_code: &price.discount_code,
                discount_minor: price.discount_minor,
                referral_credit_minor: credit_minor,
                now,
            },
        )
        .await?;
        if !price.discount_code.is_empty() {
            self.redeem_checkout_discount(&mut tx, &customer, req.plan_id, &price, row.id)
                .await?;
        }
        if let Some(from) = from_plan {
            plan_change_checkouts::mark(tx.ex(), row.id, from).await?;
        }
        let reference = credit_reference(row.id);
        for i in taken {
            if !referrals::use_credit(tx.ex(), customer.id, credits[i].id, &reference, now).await? {
                return Err(AppError::Conflict(
                    "your referral credit was used by another payment while you were checking \
                     out; please try again"
                        .into(),
                )
                .into());
            }
        }
        self.audit(
            tx.ex(),
            &Actor::system(),
            "checkout.started",
            &format!("customer:{}", customer.id),
            &format!(
                "checkout {} of {} by {} ({})",
                row.id, plan.plan.name, req.provider, to_pay
            ),
        )
        .await?;
        tx.commit().await?;

        let site = {
            let s = settings.get("general.site_uri").trim_end_matches('/');
            if s.is_empty() {
                req.origin.trim_end_matches('/').to_string()
            } else {
                s.to_string()
            }
        };
        let success = format!("{site}/checkout/return?checkout={}", row.id);
        let success_url = match req.provider {
            Provider::Stripe => format!("{success}&session_id={{CHECKOUT_SESSION_ID}}"),
            _ => success,
        };
        let cancel_url = format!("{site}/checkout/cancel?checkout={}", row.id);
        // Derived from the row: a retry after a crash or timeout reuses it.
        let idempotency_key = format!("checkout:{}:1", row.id);
        let answer = match &gateway_plan {
            None => {
                gateway
                    .create_checkout(&GatewayCheckout {
                        reference: checkout_reference(row.id),
                        description: format!(
                            "{} ({})",
                            plan.plan.name,
                            duration_text(&plan.terms.duration_unit, plan.terms.duration_count)
                        ),
                        amount: to_pay,
                        customer_email: Some(customer.email.clone()),
                        success_url,
                        cancel_url,
                        callback_url: (req.provider == Provider::Plisio)
                            .then(|| format!("{site}/webhooks/plisio")),
                        idempotency_key,
                    })
                    .await
            }
            Some(plan_id) => {
                gateway
                    .create_recurring_checkout(&RecurringCheckoutRequest {
                        reference: checkout_reference(row.id),
                        plan_id: plan_id.clone(),
                        customer_email: Some(customer.email.clone()),
                        success_url,
                        cancel_url,
                        trial_days: None,
                        idempotency_key,
                    })
                    .await
            }
        };
        match answer {
            Ok(c) => {
                checkouts::set_opened(self.db.ex(), row.id, &c.id, &c.redirect_url, self.now())
                    .await?;
                Ok(CheckoutStarted {
                    checkout_id: row.id,
                    redirect_url: c.redirect_url,
                })
            }
            Err(e) => {
                let message = e.to_string();
                let mut tx = self.db.begin().await?;
                checkouts::set_state(tx.ex(), row.id, "failed", &message, self.now()).await?;
                // Nothing was charged: the referral credits wait for the next checkout.
                referrals::release_used(tx.ex(), &credit_reference(row.id)).await?;
                tx.commit().await?;
                tracing::warn!(checkout = row.id, provider = %req.provider, error = %message, "gateway refused a checkout");
                Err(CheckoutRefused::Gateway {
                    provider: req.provider,
                    message: customer_message(&e),
                })
            }
        }
    }

    /// Places the customer before anything is priced or paid, for a checkout and a trial alike:
    /// the location they chose, room on a server for the plan, then (on a first purchase) their
    /// customer row and (when chosen) their location. The transaction is handed back, or closed
    /// before the "servers are full" notice is written in one of its own.
    pub(crate) async fn place_checkout_customer(
        &self,
        mut tx: Tx,
        mut customer: CustomerRow,
        plan: &LoadedPlan,
        location_id: Option<i64>,
    ) -> Result<(Tx, CustomerRow), CheckoutRefused> {
        let now = self.now();
        let location = self
            .check_location(tx.ex(), &customer, plan, location_id)
            .await?;
        customer.preferred_location_id = location.or(customer.preferred_location_id);
        // Before any money moves: a server must have room for this customer on this plan.
        if let Err(no) = self.capacity_for(&mut tx, &customer, plan).await? {
            drop(tx);
            // Not a full server: the customer lacks the account those servers need, which the
            // administrator cannot fix by making room.
            if no.cause == NoCapacityCause::NoServerOnTheSubscribersPlatform {
                return Err(AppError::invalid("plan_id", NO_ACCOUNT_FOR_PLATFORM).into());
            }
            self.servers_full(&customer, plan, no.cause).await?;
            return Err(CheckoutRefused::ServersFull { cause: no.cause });
        }
        if customer.id == 0 {
            customer = customers::insert(
                tx.ex(),
                NewCustomer {
                    email: &customer.email,
                    email_key: &customer.email_key,
                    plex_email: &customer.plex_email,
                    jellyfin_username: &customer.jellyfin_username,
                    emby_username: &customer.emby_username,
                    paypal_email: "",
                    permanent: false,
                    plan_id: None,
                    now,
                },
            )
            .await?;
        }
        if location.is_some() {
            customers::set_preferred_location(tx.ex(), customer.id, location, now).await?;
        }
        Ok((tx, customer))
    }

    /// "User tried to subscribe but servers are full": logged each time, told to the
    /// administrator at most once per plan every 6 hours.
    pub(crate) async fn servers_full(
        &self,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        cause: NoCapacityCause,
    ) -> Result<(), AppError> {
        let now = self.now();
        let text = format!(
            "{SERVERS_FULL_TEXT}: {} chose {} ({cause}).",
            customer.email, plan.plan.name
        );
        let mut tx = self.db.begin().await?;
        admin_events::record(
            tx.ex(),
            now,
            SERVERS_FULL_EVENT,
            (customer.id > 0).then_some(customer.id),
            None,
            &text,
        )
        .await?;
        let notice = Notice::to_admin(SERVERS_FULL_EVENT, (customer.id > 0).then_some(customer.id))
            .with("plan_name", plan.plan.name.clone())
            .with("message", SERVERS_FULL_TEXT)
            .with("cause", cause.to_string())
            .with("user_email", customer.email.clone())
            .once(format!(
                "servers-full:{}:{}",
                plan.terms.id,
                now.div_euclid(SERVERS_FULL_EVERY_SECS)
            ));
        self.notify(tx.ex(), notice).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A checkout of the customer of `login_id`, or `NotFound` (someone else's is not shown).
    pub async fn customer_checkout(
        &self,
        login_id: i64,
        email: &str,
        checkout_id: i64,
    ) -> Result<CheckoutRow, AppError> {
        let customer = self
            .customer_of_login(login_id, email)
            .await?
            .ok_or(AppError::NotFound("checkout"))?;
        match checkouts::find(self.db.ex(), checkout_id).await {
            Ok(c) if c.customer_id == customer.id => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::NotFound("checkout")),
            Err(e) => Err(e.into()),
        }
    }

    /// The customer came back through the cancel link: the checkout is marked cancelled
    /// unless it was paid meanwhile.
    pub async fn cancel_checkout(&self, checkout: &CheckoutRow) -> Result<(), AppError> {
        checkouts::set_state(self.db.ex(), checkout.id, "cancelled", "", self.now()).await?;
        Ok(())
    }

    /// Asks the gateway how a checkout ended (PayPal: captures an approved order) and applies
    /// the answer as its webhook would: the same payment, recorded once whichever comes first.
    /// Called when the customer returns and by [`CONFIRM_CHECKOUT_JOB`].
    pub async fn confirm_checkout(&self, checkout_id: i64) -> Result<CheckoutRow, AppError> {
        let co = checkouts::find(self.db.ex(), checkout_id)
            .await
            .map_err(AppError::not_found_as("checkout"))?;
        if co.state == "paid" || co.gateway_ref.is_empty() {
            return Ok(co);
        }
        let provider = Provider::parse(&co.provider)
            .ok_or_else(|| AppError::Internal(format!("checkout {} has no provider", co.id)))?;
        let gateway = self.payment_gateway(provider).await?;
        let outcome: CheckoutOutcome = gateway
            .confirm_checkout(&co.gateway_ref)
            .await
            .map_err(gateway_error)?;
        let now = self.now();
        match outcome.state {
            CheckoutState::Paid => {
                let event = WebhookEvent {
                    gateway: provider.kind(),
                    event_id: format!("return:{}", co.gateway_ref),
                    provider_type: "checkout.confirmed".into(),
                    created: Some(now),
                    kind: EventKind::CheckoutCompleted {
                        checkout_id: co.gateway_ref.clone(),
                        reference: Some(checkout_reference(co.id)),
                        paid: true,
                        payment_id: outcome.payment_id.clone(),
                        subscription_id: outcome.subscription_id.clone(),
                        customer_id: outcome.customer_id.clone(),
                        payer_email: outcome.payer_email.clone(),
                        amount: outcome.amount,
                    },
                };
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let mut tx = self.db.begin().await?;
                    let r = async {
                        let applied = self.apply_event(&mut tx, provider, &event).await?;
                        self.apply_waiting(&mut tx, provider, applied.unlocked)
                            .await?;
                        Ok::<(), AppError>(())
                    }
                    .await;
                    match r {
                        Ok(()) => {
                            tx.commit().await?;
                            break;
                        }
                        Err(AppError::Store(StoreError::Conflict { .. })) if attempt < 4 => {
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            CheckoutState::Expired => {
                checkouts::set_state(self.db.ex(), co.id, "expired", "", now).await?;
            }
            CheckoutState::Failed => {
                checkouts::set_state(self.db.ex(), co.id, "failed", "the payment failed", now)
                    .await?;
            }
            CheckoutState::Mismatch | CheckoutState::Pending => {}
        }
        Ok(checkouts::find(self.db.ex(), checkout_id).await?)
    }

    /// How a checkout stands, for its return page.
    pub async fn checkout_status(&self, co: &CheckoutRow) -> Result<CheckoutStatus, AppError> {
        let plan_name = plan::load(self.db.ex(), co.plan_id)
            .await
            .map(|p| p.plan.name)
            .unwrap_or_default();
        let customer = customers::find(self.db.ex(), co.customer_id).await?;
        let waiting_for_server = waiting::find(self.db.ex(), co.customer_id)
            .await?
            .map(|w| w.message);
        Ok(CheckoutStatus {
            checkout_id: co.id,
            provider: Provider::parse(&co.provider).unwrap_or(Provider::Stripe),
            state: co.state.clone(),
            plan_name,
            amount: money(co.amount_minor, &co.currency),
            waiting_for_server,
            covered_until: customer.covered_until,
            error: co.error.clone(),
        })
    }

    /// [`PROVISION_JOB`]: gives the customer of a recorded payment their share (selection,
    /// the share and its job) or marks them "paid, waiting for a server", with their Discord
    /// and request-app syncs. Safe to run again: provisioning writes the same share.
    pub async fn provision_payment(
        &self,
        customer_id: i64,
        payment_id: i64,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let customer = match customers::find(tx.ex(), customer_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let payment = boxoffice_store::payments::list_for_customer(tx.ex(), customer_id)
            .await?
            .into_iter()
            .find(|p| p.id == payment_id);
        let Some(payment) = payment else {
            return Ok(());
        };
        if customer.deleting_at.is_some() || payment.period_to <= now {
            return Ok(());
        }
        let plan = plan::load(tx.ex(), payment.plan_id).await?;
        let detail = match self.provision(&mut tx, &customer, &plan, None).await? {
            Provisioned::Share(s) => format!(
                "share on server {} after payment {}",
                s.server_id, payment.transaction_id
            ),
            Provisioned::NoCapacity(text) => format!("paid, waiting for a server: {text}"),
            Provisioned::AwaitingPlexChange(text) => text,
        };
        self.enqueue_discord_sync(&mut tx, customer_id, &format!("pay:{payment_id}"))
            .await?;
        self.enqueue_request_app_sync(&mut tx, customer_id, &format!("payment:{payment_id}"))
            .await?;
        self.audit(
            tx.ex(),
            &Actor::system(),
            "customer.provisioned",
            &format!("customer:{customer_id}"),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a confirmation of `checkout_id` (a PayPal approval whose buyer did not return).
    pub async fn enqueue_confirm_checkout(&self, checkout_id: i64) -> Result<(), AppError> {
        self.enqueue(
            self.db.ex(),
            crate::queue::JobSpec::new(CONFIRM_CHECKOUT_JOB, json!({ "checkout_id": checkout_id }))
                .key(format!("confirm-checkout:{checkout_id}")),
        )
        .await?;
        Ok(())
    }
}

/// What a checkout's referral credits are marked used by.
pub(crate) fn credit_reference(checkout_id: i64) -> String {
    format!("checkout:{checkout_id}")
}

/// The pending credits a checkout of `price` takes (indexes into `credits`) and their total.
fn money_credits(credits: &[CreditRow], price: Money) -> (Vec<usize>, i64) {
    let amounts: Vec<Money> = credits
        .iter()
        .map(|c| Money::new(c.amount_minor, price.currency))
        .collect();
    boxoffice_domain::referrals::credits_for_checkout(price, &amounts)
}

/// The job kinds of the money path, for the registry.
pub const JOBS: [&str; 2] = [PROVISION_JOB, CONFIRM_CHECKOUT_JOB];

/// A gateway failure as the customer may read it: what happened, never credentials.
fn customer_message(e: &PaymentError) -> String {
    match e {
        PaymentError::Unavailable { .. } | PaymentError::RateLimited { .. } => {
            "the payment service is not answering right now; please try again in a few minutes"
                .into()
        }
        PaymentError::Declined { message, .. } => message.clone(),
        _ => "the payment could not be started; the site's administrator can see why".into(),
    }
}

/// A gateway failure inside a use case: transient ones are retried by jobs.
pub(crate) fn gateway_error(e: PaymentError) -> AppError {
    let retryable = e.is_retryable();
    let retry_after_secs = e.retry_after().map(|d| d.as_secs() as i64);
    AppError::Delivery {
        message: e.to_string(),
        retryable,
        retry_after_secs,
    }
}
