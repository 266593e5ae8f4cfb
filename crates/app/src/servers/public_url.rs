//! The address customers use for a Jellyfin or Emby server. boxoffice often reaches a server at
//! an address customers cannot (`http://jellyfin:8096` in a container network, a LAN address);
//! invites and the password page name this one instead when it is set.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::servers::{self as store, ServerRow};

impl App {
    /// The address to give customers: the public address when set, else the server's URL.
    pub async fn customer_facing_url(&self, server: &ServerRow) -> Result<String, AppError> {
        let public = store::public_url(self.db.ex(), server.id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        Ok(if public.is_empty() {
            server.url.clone()
        } else {
            public
        })
    }

    /// The public address as set (empty: the server's URL is used).
    pub async fn server_public_url(&self, id: i64) -> Result<String, AppError> {
        store::public_url(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("server"))
    }

    /// Sets (or, with an empty value, clears) the public address of a server.
    pub async fn set_server_public_url(
        &self,
        actor: &Actor,
        id: i64,
        raw: &str,
    ) -> Result<(), AppError> {
        let raw = raw.trim();
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"));
        let url = match rest {
            _ if raw.is_empty() => String::new(),
            Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) && raw.len() <= 2000 => {
                raw.trim_end_matches('/').to_string()
            }
            _ => {
                return Err(AppError::invalid(
                    "public_url",
                    format!("\"{raw}\" is not an http:// or https:// address"),
                ));
            }
        };
        let mut tx = self.db.begin().await?;
        store::set_public_url(tx.ex(), id, &url, self.now())
            .await
            .map_err(AppError::not_found_as("server"))?;
        self.audit(
            tx.ex(),
            actor,
            "server.public_url",
            &format!("server:{id}"),
            &url,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
