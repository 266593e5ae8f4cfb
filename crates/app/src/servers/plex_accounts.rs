//! Plex accounts (product §7): added by token, which is tested first and stored sealed; proxy
//! settings for plex.tv traffic; discovery of the account's servers.

use crate::audit::Actor;
use crate::media::{PlexAccountSecrets, open_account};
use crate::{App, AppError};
use boxoffice_media::{PlexAccountInfo, ProxyConfig};
use boxoffice_store::plex_accounts::{
    self as store, CheckOutcome, NewPlexAccount, PlexAccountRow, ProxyUpdate,
};

/// The add form. Secrets arrive in the clear and leave this module sealed.
#[derive(Clone, Debug, Default)]
pub struct PlexAccountForm {
    pub name: String,
    pub token: String,
    pub proxy_url: String,
    pub proxy_username: String,
    pub proxy_password: String,
    pub extra_query: String,
}

/// One server a Plex account owns, as plex.tv lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DiscoveredServer {
    pub name: String,
    pub machine_id: String,
    pub version: String,
    /// Connection addresses, local first as plex.tv lists them.
    pub uris: Vec<String>,
}

/// The editable settings (the token is replaced by adding the account again).
#[derive(Clone, Debug, Default)]
pub struct PlexAccountSettings {
    pub name: String,
    pub proxy_url: String,
    pub proxy_username: String,
    /// Empty keeps the stored password.
    pub proxy_password: String,
    /// Removes the stored proxy password.
    pub clear_proxy_password: bool,
    pub extra_query: String,
    pub has_plex_pass: bool,
}

fn proxy_of(url: &str, username: &str, password: &str) -> Result<Option<ProxyConfig>, AppError> {
    if url.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(ProxyConfig {
        url: super::clean_url("proxy_url", url)?,
        username: Some(username.trim().to_string()).filter(|u| !u.is_empty()),
        password: Some(password.to_string()).filter(|p| !p.is_empty()),
    }))
}

/// Extra query parameters as the admin typed them: `name=value` pairs joined by `&`.
fn check_extra_query(raw: &str) -> Result<String, AppError> {
    let v = raw.trim().trim_start_matches('?');
    if v.contains(char::is_whitespace) || v.split('&').any(|p| p.starts_with('=')) {
        return Err(AppError::invalid(
            "extra_query",
            "write name=value pairs joined by &, e.g. a=1&b=2 (no spaces)",
        ));
    }
    Ok(v.to_string())
}

fn check_name(name: &str) -> Result<String, AppError> {
    let n = name.trim();
    if n.chars().count() > 80 {
        return Err(AppError::invalid("name", "at most 80 characters"));
    }
    Ok(n.to_string())
}

impl App {
    pub async fn list_plex_accounts(&self) -> Result<Vec<PlexAccountRow>, AppError> {
        Ok(store::list(self.db.ex()).await?)
    }

    pub async fn plex_account(&self, id: i64) -> Result<PlexAccountRow, AppError> {
        store::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("Plex account"))
    }

    /// Tests a token without storing anything ("Test Token" on the add form).
    pub async fn test_plex_token(
        &self,
        token: &str,
        proxy_url: &str,
        proxy_username: &str,
        proxy_password: &str,
        extra_query: &str,
    ) -> Result<PlexAccountInfo, AppError> {
        let secrets = PlexAccountSecrets {
            token: token.trim().to_string(),
            proxy: proxy_of(proxy_url, proxy_username, proxy_password)?,
            extra_query: boxoffice_media::parse_extra_query(&check_extra_query(extra_query)?),
        };
        let client = self.media.plex_account_unsaved(&secrets)?;
        Ok(client.account().await?)
    }

    /// Adds a Plex account after its token has worked against plex.tv. The Plex Pass flag is
    /// read from the account, so it reflects reality (product §7.1).
    pub async fn add_plex_account(
        &self,
        actor: &Actor,
        form: &PlexAccountForm,
    ) -> Result<PlexAccountRow, AppError> {
        if form.token.trim().is_empty() {
            return Err(AppError::invalid(
                "token",
                "paste the account's Plex token (see docs/servers.md for where to find it)",
            ));
        }
        let name = check_name(&form.name)?;
        let extra_query = check_extra_query(&form.extra_query)?;
        let info = self
            .test_plex_token(
                &form.token,
                &form.proxy_url,
                &form.proxy_username,
                &form.proxy_password,
                &extra_query,
            )
            .await?;
        let name = if name.is_empty() {
            info.username.clone()
        } else {
            name
        };
        let proxy = proxy_of(&form.proxy_url, &form.proxy_username, &form.proxy_password)?;
        let token_enc = self.secrets.seal(form.token.trim())?;
        let proxy_password_enc = match proxy.as_ref().and_then(|p| p.password.as_deref()) {
            Some(p) => self.secrets.seal(p)?,
            None => String::new(),
        };
        let mut tx = self.db.begin().await?;
        let row = store::insert(
            tx.ex(),
            NewPlexAccount {
                name: &name,
                token_enc: &token_enc,
                plex_user_id: &info.id.to_string(),
                username: &info.username,
                email: &info.email,
                has_plex_pass: info.plex_pass,
                proxy_url: proxy.as_ref().map(|p| p.url.as_str()).unwrap_or(""),
                proxy_username: proxy
                    .as_ref()
                    .and_then(|p| p.username.as_deref())
                    .unwrap_or(""),
                proxy_password_enc: &proxy_password_enc,
                extra_query: &extra_query,
                now: self.now(),
            },
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "plex_accounts.add",
            &row.id.to_string(),
            &format!("{} ({})", row.name, row.username),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Tests a stored account's token now and records the outcome on the row.
    pub async fn test_plex_account(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<PlexAccountInfo, AppError> {
        let row = self.plex_account(id).await?;
        let client = self.media.plex_account(self, &row)?;
        let outcome = client.account().await;
        let mut tx = self.db.begin().await?;
        match &outcome {
            Ok(info) => {
                store::record_check(
                    tx.ex(),
                    id,
                    CheckOutcome::Ok {
                        plex_user_id: &info.id.to_string(),
                        username: &info.username,
                        email: &info.email,
                        has_plex_pass: info.plex_pass,
                    },
                    self.now(),
                )
                .await?;
            }
            Err(e) => {
                store::record_check(
                    tx.ex(),
                    id,
                    CheckOutcome::Failed(&e.to_string()),
                    self.now(),
                )
                .await?;
            }
        }
        let detail = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        self.audit(
            tx.ex(),
            actor,
            "plex_accounts.test",
            &id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome?)
    }

    pub async fn update_plex_account(
        &self,
        actor: &Actor,
        id: i64,
        s: &PlexAccountSettings,
    ) -> Result<(), AppError> {
        let current = self.plex_account(id).await?;
        let name = check_name(&s.name)?;
        let name = if name.is_empty() { current.name } else { name };
        let extra_query = check_extra_query(&s.extra_query)?;
        let proxy = proxy_of(&s.proxy_url, &s.proxy_username, "")?;
        let sealed = if s.clear_proxy_password {
            Some(String::new())
        } else if s.proxy_password.is_empty() {
            None
        } else {
            Some(self.secrets.seal(&s.proxy_password)?)
        };
        let mut tx = self.db.begin().await?;
        store::update_settings(
            tx.ex(),
            id,
            ProxyUpdate {
                name: &name,
                proxy_url: proxy.as_ref().map(|p| p.url.as_str()).unwrap_or(""),
                proxy_username: proxy
                    .as_ref()
                    .and_then(|p| p.username.as_deref())
                    .unwrap_or(""),
                proxy_password_enc: sealed.as_deref(),
                extra_query: &extra_query,
                has_plex_pass: s.has_plex_pass,
                now: self.now(),
            },
        )
        .await
        .map_err(AppError::not_found_as("Plex account"))?;
        self.audit(
            tx.ex(),
            actor,
            "plex_accounts.update",
            &id.to_string(),
            &format!(
                "proxy {}",
                if s.proxy_url.trim().is_empty() {
                    "off"
                } else {
                    "on"
                }
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a Plex account. Refused, naming them, while servers use it: delete those first.
    /// Customers and payments never depend on an account and are never touched.
    pub async fn delete_plex_account(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let row = store::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("Plex account"))?;
        let servers = boxoffice_store::servers::list_by_plex_account(tx.ex(), id).await?;
        if !servers.is_empty() {
            let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
            return Err(AppError::Conflict(format!(
                "this Plex account is used by {} server{}: {}. Delete {} first",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            )));
        }
        store::delete(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("Plex account"))?;
        self.audit(
            tx.ex(),
            actor,
            "plex_accounts.delete",
            &id.to_string(),
            &format!("{} ({})", row.name, row.username),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The servers this account owns, as plex.tv lists them (to pick one to add). An explicit
    /// admin action, like Test: it answers at once.
    pub async fn discover_plex_servers(&self, id: i64) -> Result<Vec<DiscoveredServer>, AppError> {
        let row = self.plex_account(id).await?;
        let client = self.media.plex_account(self, &row)?;
        let mut servers: Vec<DiscoveredServer> = client
            .servers()
            .await?
            .into_iter()
            .filter(|s| s.owned)
            .map(|s| DiscoveredServer {
                name: s.name,
                machine_id: s.machine_id,
                version: s.version,
                uris: s.uris,
            })
            .collect();
        servers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(servers)
    }

    /// The token of a stored account, in the clear, for building a client. Never for display.
    pub(crate) fn plex_account_secrets(
        &self,
        row: &PlexAccountRow,
    ) -> Result<PlexAccountSecrets, AppError> {
        open_account(self, row)
    }
}
