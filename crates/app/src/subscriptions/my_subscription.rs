//! What a customer sees of their own subscription on My account: status, plan, paid-through
//! date, each server with how to connect on its platform, a wait for a server, recurring
//! subscriptions and payment history. Read only for the login's own customer.

use super::CustomerStatus;
use super::apply::identity;
use crate::notify::{date, money};
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_store::{plans, servers};

#[derive(Clone, Debug, serde::Serialize)]
pub struct MySubscription {
    pub status: CustomerStatus,
    pub plan: Option<String>,
    /// The paid-through day (UTC), when there is one.
    pub covered_until: Option<String>,
    pub servers: Vec<MyServer>,
    /// Paid, waiting for a server with room.
    pub waiting_since: Option<String>,
    pub recurring: Vec<MyRecurring>,
    pub payments: Vec<MyPayment>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyServer {
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
    pub provider: String,
    pub state: String,
    pub renews_on: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct MyPayment {
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
                paid_on: date(p.created_at),
                plan: name_of(Some(p.plan_id)).unwrap_or_default(),
                amount: money(p.amount_minor, &p.currency),
                from: date(p.period_from),
                to: date(p.period_to),
                refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor, &p.currency)),
            })
            .collect();
        let recurring = d
            .gateway_subscriptions
            .iter()
            .map(|g| MyRecurring {
                provider: g.provider.clone(),
                state: g.state.clone(),
                renews_on: g.current_period_end.map(date),
            })
            .collect();
        Ok(Some(MySubscription {
            status: d.status,
            plan: name_of(d.customer.plan_id),
            covered_until: d.customer.covered_until.map(date),
            servers: my_servers,
            waiting_since: d.waiting_for_server.map(|w| date(w.since)),
            recurring,
            payments,
        }))
    }
}
