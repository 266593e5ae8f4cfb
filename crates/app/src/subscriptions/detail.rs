//! A customer with their payments, shares and derived status, for the API.

use crate::{App, AppError};
use boxoffice_domain::coverage;
use boxoffice_store::admin_events::{self, AdminEventRow};
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::gateway_subscriptions::{self, GatewaySubscriptionRow};
use boxoffice_store::linked_users;
use boxoffice_store::payments::{self, PaymentRow};
use boxoffice_store::shares::{self, ShareRow};
use boxoffice_store::waiting::{self, WaitingRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Permanent,
    Active,
    Expired,
}

#[derive(Clone, Debug)]
pub struct CustomerDetail {
    pub customer: CustomerRow,
    /// Not in `CustomerRow`; shown and edited on the detail page.
    pub plex_username: String,
    pub status: CustomerStatus,
    pub payments: Vec<PaymentRow>,
    pub shares: Vec<ShareRow>,
    pub events: Vec<AdminEventRow>,
    /// Paid, waiting for a server: no server had room for the plan when the money came in.
    pub waiting_for_server: Option<WaitingRow>,
    /// Recurring subscriptions at the gateways, newest first, with their state.
    pub gateway_subscriptions: Vec<GatewaySubscriptionRow>,
}

impl App {
    pub async fn customer_detail(&self, id: i64) -> Result<CustomerDetail, AppError> {
        let customer = customers::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let plex_username = customers::plex_username(self.db.ex(), id).await?;
        let payments = payments::list_for_customer(self.db.ex(), id).await?;
        let shares = shares::list_for_customer(self.db.ex(), id).await?;
        let events = admin_events::list(self.db.ex(), Some(id), 50).await?;
        let waiting_for_server = waiting::find(self.db.ex(), id).await?;
        let gateway_subscriptions =
            gateway_subscriptions::list_for_customer(self.db.ex(), id).await?;
        // Derived from payments every time (operations §3.1), never stored; a sub-account's
        // from its master's (product §17).
        let periods = match linked_users::master_of(self.db.ex(), id).await? {
            Some(master) => {
                super::provision::periods(&payments::list_for_customer(self.db.ex(), master).await?)
            }
            None => super::provision::periods(&payments),
        };
        let status = if customer.permanent {
            CustomerStatus::Permanent
        } else if coverage::is_active(false, &periods, self.now()) {
            CustomerStatus::Active
        } else {
            CustomerStatus::Expired
        };
        Ok(CustomerDetail {
            customer,
            plex_username,
            status,
            payments,
            shares,
            events,
            waiting_for_server,
            gateway_subscriptions,
        })
    }
}
