//! The notices the subscription lifecycle raises, filled with the values their templates name.

use super::Notice;
use crate::{App, AppError};
use boxoffice_domain::money::{Currency, Money};
use boxoffice_domain::notifications::invite_event;
use boxoffice_domain::platform::Platform;
use boxoffice_store::customers::CustomerRow;
use boxoffice_store::servers::ServerRow;
use boxoffice_store::{Ex, customers, plans, provisioning, server_locations, servers};

/// Where a Plex user accepts a share.
pub const PLEX_ACCEPT_URL: &str = "https://app.plex.tv/desktop#!/settings/manage-library-access";

/// A UTC date as customers read it: 2026-12-01.
pub fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            let d = t.date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        })
        .unwrap_or_default()
}

pub fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

impl App {
    /// The invite notice of a share written to its server, worded for the server's platform:
    /// on Plex the customer accepts the share on plex.tv; on Jellyfin and Emby they get the
    /// server's address, their username and a one-time link to choose their password (issued
    /// here, in the caller's transaction).
    pub(crate) async fn invited_notice(
        &self,
        mut ex: Ex<'_>,
        customer: &CustomerRow,
        server: &ServerRow,
        share_id: i64,
        media_username: &str,
    ) -> Result<Notice, AppError> {
        let location = match server.location_id {
            Some(id) => server_locations::find(ex.reborrow(), id)
                .await
                .map(|l| l.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let plan_name = match customer.plan_id {
            Some(id) => provisioning::plan(ex.reborrow(), id)
                .await
                .map(|p| p.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let until = match (customer.permanent, customer.covered_until) {
            (true, _) => "no end date (permanent)".to_string(),
            (false, Some(t)) => date(t),
            (false, None) => String::new(),
        };
        let platform = server.platform;
        let notice = Notice::to_customer(invite_event(platform), customer.id)
            .with("plan_name", plan_name)
            .with("server_name", server.name.clone())
            .with("server_location", location)
            .with("media_username", media_username)
            .with("expiration_date", until);
        Ok(match platform {
            Platform::Plex => notice.with("invite_accept_url", PLEX_ACCEPT_URL),
            Platform::Jellyfin | Platform::Emby => {
                let link = self.issue_password_link(ex, customer.id, share_id).await?;
                notice
                    .with("server_url", self.customer_facing_url(server).await?)
                    .with("set_password_url", link.url)
                    .with("set_password_expires", date(link.expires_at))
            }
        })
    }
}

impl App {
    /// The "Subscription Expired" notice of a share the expiry pass takes away; told once per
    /// customer, server and end of coverage.
    pub(crate) async fn access_removed_notice(
        &self,
        tx: &mut boxoffice_store::Tx,
        customer: &customers::CustomerRow,
        share: &boxoffice_store::shares::ShareRow,
    ) -> Result<Notice, AppError> {
        let server = servers::find(tx.ex(), share.server_id).await?;
        let plan_name = match customer.plan_id {
            Some(id) => plans::find(tx.ex(), id)
                .await
                .map(|p| p.plan.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let ended = customer.covered_until.unwrap_or_else(|| self.now());
        let settings = App::settings_in(tx.ex()).await?;
        let renew = settings.account_url();
        Ok(Notice::to_customer("access_removed", customer.id)
            .with("plan_name", plan_name)
            .with("server_name", server.name)
            .with("expiration_date", date(ended))
            .with("renew_url", renew)
            .once(format!(
                "expired:{}:{}:{ended}",
                customer.id, share.server_id
            )))
    }
}
