//! Editing a customer's profile and media identities (operations §6.7). Changing the identity a
//! server knows the customer by (Plex e-mail, Jellyfin or Emby username) removes the old
//! identity's user there and invites the new one: the share's revision is bumped and the usual
//! share job is queued with the old identity, so the media work stays in the one apply path.

use super::apply::identity;
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_store::customers::{self, Profile};
use boxoffice_store::shares::{self, Desired};
use boxoffice_store::{StoreError, servers};

const FIELD_MAX: usize = 320;
const NOTES_MAX: usize = 2000;

/// The full editable profile as submitted (form or API). `None` keeps the current value.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CustomerEdit {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub plex_email: Option<String>,
    pub plex_username: Option<String>,
    pub jellyfin_username: Option<String>,
    pub emby_username: Option<String>,
    pub paypal_email: Option<String>,
    pub notes: Option<String>,
    pub permanent: Option<bool>,
}

/// What an edit did to the customer's shares.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CustomerEdited {
    /// Shares whose old identity is removed and the new one invited, by their jobs.
    pub reinvited_share_ids: Vec<i64>,
}

fn field(
    v: Option<&String>,
    current: &str,
    name: &'static str,
    max: usize,
) -> Result<String, AppError> {
    let v = v.map_or_else(|| current.to_string(), |s| s.trim().to_string());
    if v.chars().count() > max {
        return Err(AppError::invalid(
            name,
            format!("{name} is at most {max} characters"),
        ));
    }
    Ok(v)
}

impl App {
    pub async fn edit_customer(
        &self,
        actor: &Actor,
        customer_id: i64,
        edit: &CustomerEdit,
    ) -> Result<CustomerEdited, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let old = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        if old.deleting_at.is_some() {
            return Err(AppError::Conflict("this customer is being deleted".into()));
        }
        let old_plex_username = customers::plex_username(tx.ex(), customer_id).await?;
        let email = match edit.email.as_deref().map(str::trim) {
            Some(e) => {
                Email::parse(e).map_err(|err| AppError::invalid("email", err.to_string()))?
            }
            None => Email::parse(&old.email)
                .map_err(|e| AppError::Internal(format!("stored e-mail is invalid: {e}")))?,
        };
        let plex_email = field(
            edit.plex_email.as_ref(),
            &old.plex_email,
            "plex_email",
            FIELD_MAX,
        )?;
        if !plex_email.is_empty() && Email::parse(&plex_email).is_err() {
            return Err(AppError::invalid(
                "plex_email",
                "the Plex e-mail is not an e-mail address",
            ));
        }
        let display_name = field(
            edit.display_name.as_ref(),
            &old.display_name,
            "display_name",
            200,
        )?;
        let plex_username = field(
            edit.plex_username.as_ref(),
            &old_plex_username,
            "plex_username",
            FIELD_MAX,
        )?;
        let jellyfin = field(
            edit.jellyfin_username.as_ref(),
            &old.jellyfin_username,
            "jellyfin_username",
            FIELD_MAX,
        )?;
        let emby = field(
            edit.emby_username.as_ref(),
            &old.emby_username,
            "emby_username",
            FIELD_MAX,
        )?;
        let paypal = field(
            edit.paypal_email.as_ref(),
            &old.paypal_email,
            "paypal_email",
            FIELD_MAX,
        )?;
        let notes = field(edit.notes.as_ref(), &old.notes, "notes", NOTES_MAX)?;
        let permanent = edit.permanent.unwrap_or(old.permanent);
        customers::update_profile(
            tx.ex(),
            customer_id,
            &Profile {
                email: email.as_str(),
                email_key: &email.normalized(),
                display_name: &display_name,
                plex_email: &plex_email,
                plex_username: &plex_username,
                jellyfin_username: &jellyfin,
                emby_username: &emby,
                paypal_email: &paypal,
                notes: &notes,
                permanent,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                AppError::invalid("email", "another customer has this e-mail")
            }
            other => other.into(),
        })?;
        let new = customers::find(tx.ex(), customer_id).await?;
        let mut reinvited = Vec::new();
        for s in shares::list_for_customer(tx.ex(), customer_id).await? {
            if s.state == "removed" {
                continue;
            }
            let server = servers::find(tx.ex(), s.server_id)
                .await
                .map_err(AppError::not_found_as("server"))?;
            let before = identity(&old, server.platform);
            let after = identity(&new, server.platform);
            if before.eq_ignore_ascii_case(&after) {
                continue;
            }
            // Same desired access, new revision: the job keyed on it removes `before` and
            // invites `after` (an unaccepted invite starts over, so the state is pending again).
            let libs = s.library_ids();
            let state = if s.state == "grace" {
                "grace"
            } else {
                "pending"
            };
            let row = shares::upsert_desired(
                tx.ex(),
                customer_id,
                s.server_id,
                &Desired {
                    state,
                    library_ids: &libs,
                    downloads: s.downloads,
                    video_transcoding: s.video_transcoding,
                    stream_limit: s.stream_limit,
                    delete_after: s.delete_after,
                },
                now,
            )
            .await?;
            self.enqueue_share_replacing(tx.ex(), &row, &before).await?;
            reinvited.push(row.id);
        }
        self.audit(
            tx.ex(),
            actor,
            "customer.edit",
            &format!("customer:{customer_id}"),
            &format!(
                "{} ({} share(s) re-invited)",
                email.as_str(),
                reinvited.len()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(CustomerEdited {
            reinvited_share_ids: reinvited,
        })
    }
}
