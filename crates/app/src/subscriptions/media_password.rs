//! A Jellyfin or Emby customer's own password. Their user is created with a random password no
//! one knows; the invite notice carries a one-time link on the site where they choose theirs.
//! Submitting it keeps the password sealed beside the link and queues a job, which writes it to
//! the server (the web layer knows no media client) and then wipes it.
//!
//! A link lives [`LINK_VALID_DAYS`] days and works once; a newer link for the same share replaces
//! it. From a spent link the customer may ask for a new one (sent to their own contact, at most
//! every [`NEW_LINK_WAIT_SECS`]), and an administrator may send the invite again.

use super::apply::identity;
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::media_password;
use boxoffice_domain::notifications::invite_event;
use boxoffice_domain::platform::Platform;
use boxoffice_media::UserRef;
use boxoffice_store::media_passwords::{self as store, LinkRow};
use boxoffice_store::{Ex, StoreError, customers, servers, shares};

/// Writes a chosen password to the media server (payload `{"link_id"}`).
pub const MEDIA_PASSWORD_JOB: &str = "media.set_password";
/// How long a "choose your password" link works.
pub const LINK_VALID_DAYS: i64 = 7;
/// How soon after a link was sent a customer may ask for another.
pub const NEW_LINK_WAIT_SECS: i64 = 600;

/// Where a link stands, as its page tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// The form: choose a password.
    Open,
    /// Chosen; the job is writing it to the server.
    Applying,
    /// On the server: log in with it.
    Set,
    /// The server refused it for good; `error` says why.
    Failed,
    /// Past its date without being used.
    Expired,
    /// A newer link was sent for the same server.
    Replaced,
}

/// What the customer-facing page shows for one link. Never holds the password.
#[derive(Clone, Debug)]
pub struct MediaPasswordView {
    pub state: LinkState,
    pub platform: Platform,
    pub server_name: String,
    pub server_url: String,
    pub username: String,
    pub expires_at: i64,
    pub error: String,
}

/// A link just issued: the token goes into the message only.
#[derive(Clone, Debug)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: i64,
}

fn link_url(site_uri: &str, token: &str) -> String {
    format!("{}/media-password/{token}", site_uri.trim_end_matches('/'))
}

impl App {
    /// A new link for `share_id` (older open ones stop working), written in the caller's
    /// transaction so it exists only if the message carrying it is queued.
    pub(crate) async fn issue_password_link(
        &self,
        mut ex: Ex<'_>,
        customer_id: i64,
        share_id: i64,
    ) -> Result<IssuedLink, AppError> {
        let token = crate::crypto::random_token()?;
        let now = self.now();
        let expires_at = now + LINK_VALID_DAYS * 86_400;
        store::insert(
            ex.reborrow(),
            customer_id,
            share_id,
            &crate::crypto::token_hash(&token),
            now,
            expires_at,
        )
        .await?;
        let settings = App::settings_in(ex).await?;
        Ok(IssuedLink {
            url: link_url(settings.get("general.site_uri"), &token),
            expires_at,
        })
    }

    async fn link_by_token(&self, token: &str) -> Result<LinkRow, AppError> {
        store::find_by_hash(self.db.ex(), &crate::crypto::token_hash(token))
            .await
            .map_err(AppError::not_found_as("password link"))
    }

    async fn view_of(&self, link: &LinkRow) -> Result<MediaPasswordView, AppError> {
        let share = shares::find(self.db.ex(), link.share_id)
            .await
            .map_err(AppError::not_found_as("password link"))?;
        let server = servers::find(self.db.ex(), share.server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let customer = customers::find(self.db.ex(), link.customer_id)
            .await
            .map_err(AppError::not_found_as("password link"))?;
        let state = match link.state.as_str() {
            "open" if link.expires_at <= self.now() => LinkState::Expired,
            "open" => LinkState::Open,
            "applying" => LinkState::Applying,
            "set" => LinkState::Set,
            "failed" => LinkState::Failed,
            _ => LinkState::Replaced,
        };
        let server_url = self.customer_facing_url(&server).await?;
        Ok(MediaPasswordView {
            state,
            platform: server.platform,
            server_name: server.name,
            server_url,
            username: identity(&customer, server.platform),
            expires_at: link.expires_at,
            error: link.error.clone(),
        })
    }

    /// The page of a link: the form while it is open, else where it stands.
    /// `NotFound` for a token that was never issued.
    pub async fn media_password_link(&self, token: &str) -> Result<MediaPasswordView, AppError> {
        let link = self.link_by_token(token).await?;
        self.view_of(&link).await
    }

    /// Uses the link: checks the password, keeps it sealed and queues the job that writes it.
    /// A spent, replaced or expired link answers `Conflict` with what to do instead.
    pub async fn choose_media_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        ip: &str,
    ) -> Result<MediaPasswordView, AppError> {
        let link = self.link_by_token(token).await?;
        let view = self.view_of(&link).await?;
        if view.state != LinkState::Open {
            return Err(AppError::Conflict(spent_message(view.state).into()));
        }
        if let Err(r) = media_password::check(password, confirm) {
            return Err(AppError::invalid(r.field, r.message));
        }
        let sealed = self.secrets.seal(password)?;
        let mut tx = self.db.begin().await?;
        if !store::claim(tx.ex(), link.id, &sealed, self.now()).await? {
            // Another submit won, or the link expired or was replaced in between.
            return Err(AppError::Conflict(
                "This link was used or replaced a moment ago.".into(),
            ));
        }
        self.enqueue(
            tx.ex(),
            crate::queue::JobSpec::new(MEDIA_PASSWORD_JOB, serde_json::json!({"link_id": link.id}))
                .key(format!("media-password:{}", link.id)),
        )
        .await?;
        let actor = Actor {
            login_id: None,
            label: format!("customer:{} (password link)", link.customer_id),
            ip: ip.to_string(),
        };
        self.audit(
            tx.ex(),
            &actor,
            "customer.media_password",
            &format!("share:{}", link.share_id),
            "chose a media password",
        )
        .await?;
        tx.commit().await?;
        Ok(MediaPasswordView {
            state: LinkState::Applying,
            ..view
        })
    }

    /// The job: writes the sealed password to the share's user, then wipes it. A transient
    /// failure is retried; a refusal, or the last attempt, ends the link as failed.
    pub async fn apply_media_password(&self, link_id: i64, last: bool) -> Result<(), AppError> {
        let link = match store::find(self.db.ex(), link_id).await {
            Ok(l) => l,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(sealed) = link
            .password_sealed
            .as_deref()
            .filter(|_| link.state == "applying")
        else {
            return Ok(());
        };
        let fail = |why: String| async move {
            store::finish(self.db.ex(), link_id, "failed", &why, self.now()).await?;
            Err::<(), AppError>(AppError::Conflict(why))
        };
        let share = match shares::find(self.db.ex(), link.share_id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return fail("the access was removed".into()).await,
            Err(e) => return Err(e.into()),
        };
        if share.state == "removed" || share.remote_user_id.is_empty() {
            return fail("there is no user on the server for this access any more".into()).await;
        }
        let server = servers::find(self.db.ex(), share.server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let password = self.secrets.open(sealed)?;
        let client = self.media.server(self, &server).await?;
        match client
            .set_password(&UserRef::user(share.remote_user_id.clone()), &password)
            .await
        {
            Ok(()) => {
                store::finish(self.db.ex(), link_id, "set", "", self.now()).await?;
                Ok(())
            }
            Err(e) if last || !e.retryable() => {
                store::finish(self.db.ex(), link_id, "failed", &e.to_string(), self.now()).await?;
                Err(e.into())
            }
            Err(e) => {
                store::record_error(self.db.ex(), link_id, &e.to_string()).await?;
                Err(e.into())
            }
        }
    }

    /// Sends the invite notice of one share again (Admin → customer → Shares). On Jellyfin and
    /// Emby it carries a new password link, and older links stop working.
    pub async fn resend_invite(
        &self,
        actor: &Actor,
        customer_id: i64,
        share_id: i64,
    ) -> Result<usize, AppError> {
        let share = shares::find(self.db.ex(), share_id)
            .await
            .map_err(AppError::not_found_as("share"))?;
        if share.customer_id != customer_id {
            return Err(AppError::NotFound("share"));
        }
        let queued = self.send_invite_again(&share, "resend").await?;
        let mut tx = self.db.begin().await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.resend_invite",
            &format!("customer:{customer_id}"),
            &format!("share {share_id}: {queued} message(s) queued"),
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// From a spent or expired link's page: a new link, sent to the customer's own e-mail and
    /// Discord (never shown on the page), at most every [`NEW_LINK_WAIT_SECS`].
    pub async fn request_new_password_link(&self, token: &str) -> Result<usize, AppError> {
        let link = self.link_by_token(token).await?;
        if let Some(latest) = store::latest_for_share(self.db.ex(), link.share_id).await?
            && latest.created_at + NEW_LINK_WAIT_SECS > self.now()
        {
            return Err(AppError::Throttled {
                retry_after: latest.created_at + NEW_LINK_WAIT_SECS - self.now(),
            });
        }
        let share = shares::find(self.db.ex(), link.share_id)
            .await
            .map_err(AppError::not_found_as("password link"))?;
        self.send_invite_again(&share, "renew").await
    }

    async fn send_invite_again(
        &self,
        share: &shares::ShareRow,
        why: &str,
    ) -> Result<usize, AppError> {
        if share.state == "removed" {
            return Err(AppError::Conflict(
                "This access has ended; there is nothing to log in to.".into(),
            ));
        }
        if share.applied_at.is_none() || share.state == "pending" {
            return Err(AppError::Conflict(
                "The user is not on the server yet; the invite is sent as soon as it is.".into(),
            ));
        }
        let server = servers::find(self.db.ex(), share.server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let customer = customers::find(self.db.ex(), share.customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let event = invite_event(server.platform);
        let batch = self.notice_batch(self.db.ex(), event).await?;
        if !batch.reaches_anyone() {
            return Err(AppError::Conflict(
                "Neither e-mail nor Discord can carry the invite: switch a channel on (Settings) and its template (Notifications)."
                    .into(),
            ));
        }
        let who = identity(&customer, server.platform);
        let mut tx = self.db.begin().await?;
        let notice = self
            .invited_notice(tx.ex(), &customer, &server, share.id, &who)
            .await?;
        tracing::info!(share_id = share.id, why, "sending the invite notice again");
        let queued = self.queue_notice(tx.ex(), &batch, notice).await?;
        if queued == 0 {
            return Err(AppError::Conflict(
                "The customer has no e-mail address or Discord id to send the invite to.".into(),
            ));
        }
        tx.commit().await?;
        Ok(queued)
    }
}

/// What a link that no longer opens the form tells the customer.
pub fn spent_message(state: LinkState) -> &'static str {
    match state {
        LinkState::Open => "",
        LinkState::Applying => "This link was used: your password is being saved on the server.",
        LinkState::Set => "This link was used and your password is set.",
        LinkState::Failed => "This link was used, but the server refused the password.",
        LinkState::Expired => "This link has expired.",
        LinkState::Replaced => {
            "A newer link was sent for this server: use the one in the latest message."
        }
    }
}

impl App {
    /// From My account: a new "set your password" link for one of the customer's own Jellyfin
    /// or Emby users, sent to their e-mail and Discord as the invite is, at most every
    /// [`NEW_LINK_WAIT_SECS`] per server. `NotFound` for a share that is not theirs.
    pub async fn send_my_password_link(
        &self,
        customer_id: i64,
        share_id: i64,
    ) -> Result<usize, AppError> {
        let share = match shares::find(self.db.ex(), share_id).await {
            Ok(s) if s.customer_id == customer_id => s,
            Ok(_) | Err(StoreError::NotFound) => return Err(AppError::NotFound("server")),
            Err(e) => return Err(e.into()),
        };
        let server = servers::find(self.db.ex(), share.server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        if server.platform == Platform::Plex {
            return Err(AppError::Conflict(
                "Plex accounts keep their own password: change it on plex.tv.".into(),
            ));
        }
        if let Some(latest) = store::latest_for_share(self.db.ex(), share.id).await?
            && latest.created_at + NEW_LINK_WAIT_SECS > self.now()
        {
            return Err(AppError::Throttled {
                retry_after: latest.created_at + NEW_LINK_WAIT_SECS - self.now(),
            });
        }
        self.send_invite_again(&share, "account").await
    }
}
