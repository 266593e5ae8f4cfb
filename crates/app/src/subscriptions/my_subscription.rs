//! What a customer sees of their own subscription on My account: status, plan, paid-through
//! date, each server with how to connect on its platform, a wait for a server, recurring
//! subscriptions and payment history, request-app accounts, and each payment's receipt. Read
//! only for the login's own customer.

use super::CustomerStatus;
use super::apply::identity;
use crate::notify::{date, money};
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_store::{StoreError, payments, plans, recurring_cancellations, servers};

/// How a payment was made, as a receipt says it.
fn method_label(method: &str) -> &str {
    match method {
        "stripe" => "Card (Stripe)",
        "paypal" => "PayPal",
        "plisio" => "Cryptocurrency (Plisio)",
        "trial" => "Free trial",
        "plan_change" => "Plan change",
        "manual" => "Recorded by the site",
        other => other,
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MySubscription {
    pub status: CustomerStatus,
    pub plan: Option<String>,
    /// The running payment is a free trial.
    pub on_trial: bool,
    /// The paid-through day (UTC), when there is one.
    pub covered_until: Option<String>,
    pub servers: Vec<MyServer>,
    /// Paid, waiting for a server with room.
    pub waiting_since: Option<String>,
    pub recurring: Vec<MyRecurring>,
    pub payments: Vec<MyPayment>,
    /// Accounts on the request apps (Overseerr, Ombi, Petio) while any is switched on.
    pub request_apps: Vec<MyRequestApp>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyRequestApp {
    /// overseerr, ombi or petio.
    pub app: String,
    pub label: String,
    /// The address configured for the app.
    pub url: String,
    pub username: String,
    pub state: String,
}

/// One payment's receipt.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MyReceipt {
    pub payment_id: i64,
    pub customer_email: String,
    pub paid_on: String,
    pub plan: String,
    pub amount: String,
    pub method: String,
    pub transaction_id: String,
    pub from: String,
    pub to: String,
    pub notes: String,
    pub refunded: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyServer {
    pub share_id: i64,
    pub name: String,
    pub platform: Platform,
    /// `invited` until the customer accepts (Plex) or the user exists (Jellyfin/Emby), then
    /// `active`; `grace` in a grace period.
    pub state: String,
    /// Jellyfin/Emby: the address to open and the user name to log in with.
    pub address: String,
    pub username: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyRecurring {
    pub id: i64,
    pub provider: String,
    pub state: String,
    pub renews_on: Option<String>,
    /// The customer asked to stop it: `requested` (the gateway is being asked), `done` or
    /// `failed`.
    pub cancel: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyPayment {
    pub id: i64,
    pub paid_on: String,
    pub plan: String,
    pub amount: String,
    pub from: String,
    pub to: String,
    pub refunded: Option<String>,
}

impl App {
    /// The subscription of the customer behind `login_id`; `None` for a login with no customer.
    pub async fn my_subscription(
        &self,
        login_id: i64,
        email: &str,
    ) -> Result<Option<MySubscription>, AppError> {
        let Some(c) = self.customer_of_login(login_id, email).await? else {
            return Ok(None);
        };
        let d = self.customer_detail(c.id).await?;
        let plan_names: std::collections::HashMap<i64, String> = plans::list(self.db.ex())
            .await?
            .into_iter()
            .map(|p| (p.plan.id, p.plan.name))
            .collect();
        let name_of = |id: Option<i64>| id.and_then(|i| plan_names.get(&i).cloned());
        let mut my_servers = Vec::new();
        for share in d.shares.iter().filter(|s| s.state != "removed") {
            let Ok(server) = servers::find(self.db.ex(), share.server_id).await else {
                continue;
            };
            let (address, username) = if server.platform == Platform::Plex {
                (String::new(), String::new())
            } else {
                (
                    self.customer_facing_url(&server).await?,
                    identity(&d.customer, server.platform),
                )
            };
            my_servers.push(MyServer {
                share_id: share.id,
                name: server.name,
                platform: server.platform,
                state: share.state.clone(),
                address,
                username,
            });
        }
        let payments = d
            .payments
            .iter()
            .rev()
            .map(|p| MyPayment {
                id: p.id,
                paid_on: date(p.created_at),
                plan: name_of(Some(p.plan_id)).unwrap_or_default(),
                amount: money(p.amount_minor, &p.currency),
                from: date(p.period_from),
                to: date(p.period_to),
                refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor, &p.currency)),
            })
            .collect();
        let mut recurring = Vec::new();
        for g in &d.gateway_subscriptions {
            recurring.push(MyRecurring {
                id: g.id,
                provider: g.provider.clone(),
                state: g.state.clone(),
                renews_on: g.current_period_end.map(date),
                cancel: recurring_cancellations::find(self.db.ex(), g.id)
                    .await?
                    .map(|c| c.state),
            });
        }
        let now = self.now();
        let trial_plans: Vec<i64> = plans::list(self.db.ex())
            .await?
            .into_iter()
            .filter(|p| p.plan.is_trial)
            .map(|p| p.plan.id)
            .collect();
        let on_trial = d
            .payments
            .iter()
            .any(|p| p.period_from <= now && now < p.period_to && trial_plans.contains(&p.plan_id));
        let request_apps = if self.request_apps_enabled().await? {
            let settings = self.settings().await?;
            self.customer_request_apps(c.id)
                .await?
                .into_iter()
                .filter(|a| a.state != "deleted")
                .map(|a| MyRequestApp {
                    url: settings.get(&format!("requests.{}.url", a.app)).to_string(),
                    label: a.label,
                    app: a.app,
                    username: a.username,
                    state: a.state,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Some(MySubscription {
            status: d.status,
            plan: name_of(d.customer.plan_id),
            on_trial,
            covered_until: d.customer.covered_until.map(date),
            servers: my_servers,
            waiting_since: d.waiting_for_server.map(|w| date(w.since)),
            recurring,
            payments,
            request_apps,
        }))
    }

    /// The receipt of one payment of the customer behind `login_id`; `NotFound` for anyone
    /// else's.
    pub async fn my_receipt(
        &self,
        login_id: i64,
        email: &str,
        payment_id: i64,
    ) -> Result<MyReceipt, AppError> {
        let c = self
            .customer_of_login(login_id, email)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let p = match payments::find(self.db.ex(), payment_id).await {
            Ok(p) if p.customer_id == c.id => p,
            Ok(_) | Err(StoreError::NotFound) => return Err(AppError::NotFound("payment")),
            Err(e) => return Err(e.into()),
        };
        let plan = plans::list(self.db.ex())
            .await?
            .into_iter()
            .find(|x| x.plan.id == p.plan_id)
            .map(|x| x.plan.name)
            .unwrap_or_default();
        Ok(MyReceipt {
            payment_id: p.id,
            customer_email: c.email,
            paid_on: date(p.created_at),
            plan,
            amount: money(p.amount_minor, &p.currency),
            method: method_label(&p.method).to_string(),
            transaction_id: p.transaction_id,
            from: date(p.period_from),
            to: date(p.period_to),
            notes: p.notes,
            refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor, &p.currency)),
        })
    }
}
