//! The share job: apply a share's desired state to its server, then read it back and compare.
//! It always works from the share's current row (not a payload snapshot), so a late or repeated
//! job converges on the latest desired state and never doubles an invite: an existing user on
//! the server is found and updated rather than invited again.

use super::invite::Written;
use crate::job_reads::JobReads;
use crate::{App, AppError};
use boxoffice_domain::platform::Platform as ServerPlatform;
use boxoffice_media::{
    AccessPolicy, LibraryAccess, MediaError, MediaServer, MediaUser, NewUser, Platform,
    PlexRefusal, UserRef,
};
use boxoffice_store::customers::CustomerRow;
use boxoffice_store::servers::ServerRow;
use boxoffice_store::shares::{self, ShareRow};
use boxoffice_store::{StoreError, customers, provisioning, servers};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What a share job did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareApplied {
    /// The share row is gone (its customer was deleted).
    Gone,
    Removed,
    Applied {
        state: String,
        /// The share's revision this apply brought the server to.
        revision: i64,
    },
}

impl App {
    pub async fn apply_share(&self, share_id: i64) -> Result<ShareApplied, AppError> {
        self.apply_share_replacing(share_id, None).await
    }

    /// As `apply_share`; `replace` names the identity the customer had on this server before an
    /// edit (operations §6.7): that user is removed first and the current identity invited.
    pub async fn apply_share_replacing(
        &self,
        share_id: i64,
        replace: Option<&str>,
    ) -> Result<ShareApplied, AppError> {
        self.apply_share_with(share_id, replace, false).await
    }

    /// As `apply_share_replacing`; `resend` (a re-invite) cancels an invite the customer never
    /// accepted and sends a fresh one, so plex.tv e-mails it again. An accepted share is kept.
    pub async fn apply_share_with(
        &self,
        share_id: i64,
        replace: Option<&str>,
        resend: bool,
    ) -> Result<ShareApplied, AppError> {
        self.apply_share_reading(share_id, replace, resend, None)
            .await
    }

    /// As `apply_share`, for a job applying the shares its invites wrote: the server, its
    /// libraries and the invite notice's settings come from what the job read once, and the
    /// share and customer from what the invite wrote, when it wrote them (not on a replay).
    pub(crate) async fn apply_share_in_job(
        &self,
        share_id: i64,
        reads: &JobReads,
        written: Option<Written>,
    ) -> Result<ShareApplied, AppError> {
        let Some(w) = written.filter(|w| w.share.id == share_id) else {
            return self
                .apply_share_reading(share_id, None, false, Some(reads))
                .await;
        };
        self.apply_or_record(&w.share, None, false, Some(reads), Some(&w.customer))
            .await
    }

    async fn apply_share_reading(
        &self,
        share_id: i64,
        replace: Option<&str>,
        resend: bool,
        reads: Option<&JobReads>,
    ) -> Result<ShareApplied, AppError> {
        let share = match shares::find(self.db.ex(), share_id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(ShareApplied::Gone),
            Err(e) => return Err(e.into()),
        };
        self.apply_or_record(&share, replace, resend, reads, None)
            .await
    }

    /// Applies `share`, recording a failure on the share (visible on the customer's detail
    /// until a later attempt succeeds).
    async fn apply_or_record(
        &self,
        share: &ShareRow,
        replace: Option<&str>,
        resend: bool,
        reads: Option<&JobReads>,
        customer: Option<&CustomerRow>,
    ) -> Result<ShareApplied, AppError> {
        match self
            .apply_share_row(share, replace, resend, reads, customer)
            .await
        {
            Ok(done) => Ok(done),
            Err(e) => {
                shares::record_error(self.db.ex(), share.id, &e.to_string(), self.now()).await?;
                Err(e)
            }
        }
    }

    async fn apply_share_row(
        &self,
        share: &ShareRow,
        replace: Option<&str>,
        resend: bool,
        reads: Option<&JobReads>,
        customer: Option<&CustomerRow>,
    ) -> Result<ShareApplied, AppError> {
        let server = match reads {
            Some(r) => r.server(self.db.ex(), share.server_id).await?,
            None => Arc::new(
                servers::find(self.db.ex(), share.server_id)
                    .await
                    .map_err(AppError::not_found_as("server"))?,
            ),
        };
        let customer = match customer {
            Some(c) => c.clone(),
            None => customers::find(self.db.ex(), share.customer_id)
                .await
                .map_err(AppError::not_found_as("customer"))?,
        };
        let client = self.media.server(self, &server).await?;
        let who = identity(&customer, server.platform);
        let ids = share.library_ids();
        let libraries = match reads {
            Some(r) => {
                r.libraries_by_id(self.db.ex(), share.server_id, &ids)
                    .await?
            }
            None => {
                Arc::new(provisioning::libraries_by_id(self.db.ex(), share.server_id, &ids).await?)
            }
        };
        let grant: Vec<String> = libraries
            .iter()
            .map(|l| {
                if l.global_id.is_empty() {
                    l.remote_key.clone()
                } else {
                    l.global_id.clone()
                }
            })
            .collect();
        let replaced;
        let share = match replace.filter(|old| !old.eq_ignore_ascii_case(&who)) {
            Some(old) => {
                // The recorded ids name the old identity's user: remove it (a retry finds it gone
                // and goes on), then forget those ids so the current identity is invited afresh.
                if let Some(u) = find_user(&*client, share, old).await? {
                    client.remove_user(&u.user_ref).await?;
                }
                if find_user(&*client, share, old).await?.is_some() {
                    return Err(AppError::Internal(format!(
                        "{old} is still on the server after removal"
                    )));
                }
                replaced = ShareRow {
                    remote_user_id: String::new(),
                    remote_invite_id: String::new(),
                    ..share.clone()
                };
                &replaced
            }
            None => share,
        };
        let remove = share.state == "removed"
            || (grant.is_empty() && server.platform == ServerPlatform::Plex);
        // A share never applied to a Jellyfin/Emby server goes straight to creating its user:
        // the server refuses a taken name, and only then is the user list read (an earlier
        // attempt that stopped before recording its user is found that way). Listing every
        // user first would make each invite cost as much as the server has users.
        let create_first = !remove && !resend && creates_refusing_taken_names(&*client, share);
        let mut existing = if create_first {
            None
        } else {
            find_user(&*client, share, &who).await?
        };
        if resend && !remove && existing.as_ref().is_some_and(|u| u.pending) {
            if let Some(u) = existing.take() {
                client.remove_user(&u.user_ref).await?;
            }
            if find_user(&*client, share, &who).await?.is_some() {
                return Err(AppError::Internal(format!(
                    "the unaccepted invite of {who} is still on the server after cancelling it"
                )));
            }
        }
        // plex.tv cannot hold a share with no libraries (an empty list means all), so on Plex
        // "no libraries left" is removing the share.
        if remove {
            if let Some(u) = &existing {
                client.remove_user(&u.user_ref).await?;
            }
            if find_user(&*client, share, &who).await?.is_some() {
                return Err(AppError::Internal(format!(
                    "{who} is still on the server after removal"
                )));
            }
            shares::record_applied(
                self.db.ex(),
                share.id,
                share.revision,
                &share.state,
                "",
                "",
                self.now(),
            )
            .await?;
            return Ok(ShareApplied::Removed);
        }
        let policy = AccessPolicy {
            libraries: LibraryAccess::Only(grant.clone()),
            downloads: share.downloads,
            video_transcoding: share.video_transcoding,
            audio_transcoding: true,
            stream_limit: share.stream_limit.and_then(|n| u32::try_from(n).ok()),
            ..AccessPolicy::default()
        };
        let target = Target {
            client: &*client,
            server: &server,
            customer: &customer,
            who: &who,
            grant: &grant,
            reads,
        };
        if existing.is_none() {
            let new = NewUser {
                name: who.clone(),
                // Jellyfin/Emby refuse logins without one (operations §5.8). Nobody knows this
                // one: the customer chooses theirs through the invite's password link. Plex
                // ignores it.
                password: Some(crate::crypto::random_token()?),
            };
            match client.create_user(&new, &policy).await {
                Ok(u) => {
                    let recorded = naming(share, &u.user_ref);
                    // Jellyfin/Emby answer a create with the user read back after its policy
                    // was written; a Plex invite's answer is only the request, so it is listed.
                    let read = Some(u).filter(|_| client.platform() != Platform::Plex);
                    return self.read_back(&target, &recorded, read).await;
                }
                // The user is there already: Jellyfin/Emby refuse the taken name (an earlier
                // attempt created it and stopped before recording it), Plex answers "already
                // sharing" (an invite it had not listed yet). The user found is brought in line
                // and read back like any other; only a refusal with no such user is a failure.
                Err(e) if (create_first && e.is_user_rejected()) || already_sharing(&e) => {
                    existing = find_user(&*client, share, &who).await?;
                    if existing.is_none() {
                        return Err(e.into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(u) = &existing {
            client.update_access(&u.user_ref, &policy).await?;
            // A share we want live on a user disabled on the server (by hand, or drift found
            // by reconciliation) is switched back on: nothing of ours disables customers.
            if u.disabled {
                client.set_enabled(&u.user_ref, true).await?;
            }
        }
        let recorded = match &existing {
            Some(u) => naming(share, &u.user_ref),
            None => share.clone(),
        };
        self.read_back(&target, &recorded, None).await
    }

    /// Read back and compare: the server's answer is the truth, not our request. Then record
    /// the share as applied and, on its first apply, tell the customer. `read` is the user as
    /// the server just reported it, when the write's own answer was a fresh read.
    async fn read_back(
        &self,
        target: &Target<'_>,
        share: &ShareRow,
        read: Option<MediaUser>,
    ) -> Result<ShareApplied, AppError> {
        let (client, who, grant) = (target.client, target.who, target.grant);
        let now_on = match read {
            Some(u) => Some(u),
            None => find_user(client, share, who).await?,
        };
        let Some(now_on) = now_on else {
            return Err(AppError::Internal(format!(
                "{who} is not on the server after the share was written"
            )));
        };
        let want: BTreeSet<&str> = grant.iter().map(String::as_str).collect();
        let have: BTreeSet<&str> = now_on.libraries.iter().map(String::as_str).collect();
        if now_on.all_libraries || want != have {
            return Err(AppError::Internal(format!(
                "the server shares {:?} with {who}, expected {:?}",
                have, want
            )));
        }
        let state = if share.state == "grace" {
            "grace"
        } else if now_on.pending {
            "invited"
        } else {
            "active"
        };
        shares::record_applied(
            self.db.ex(),
            share.id,
            share.revision,
            state,
            &now_on.user_ref.user_id,
            now_on.user_ref.share_id.as_deref().unwrap_or(""),
            self.now(),
        )
        .await?;
        // A share applied for the first time is an invite the customer must hear about (and, on
        // Plex, accept). Keyed by revision, a replayed job tells nobody twice.
        if share.state == "pending" {
            let key = format!("invited:{}:{}", share.id, share.revision);
            if let Err(e) = self.tell_invited(target, share.id, key).await {
                tracing::warn!(share_id = share.id, error = %e, "could not queue the invite notice");
            }
        }
        Ok(ShareApplied::Applied {
            state: state.to_string(),
            revision: share.revision,
        })
    }
}

/// The server, the customer and what they are given there, as one apply sees them.
struct Target<'a> {
    client: &'a dyn MediaServer,
    server: &'a ServerRow,
    customer: &'a CustomerRow,
    who: &'a str,
    grant: &'a [String],
    reads: Option<&'a JobReads>,
}

impl App {
    /// A share applied for the first time is an invite the customer must hear about (and, on
    /// Plex, accept). Keyed by revision, a replayed job tells nobody twice. Nothing is built
    /// when the event reaches no one (e-mail and Discord off, or its templates switched off).
    /// On Jellyfin and Emby the notice carries a new password link; it is kept only when the
    /// notice is queued (not when this key was told before), so a replayed job issues none.
    async fn tell_invited(
        &self,
        target: &Target<'_>,
        share_id: i64,
        key: String,
    ) -> Result<(), AppError> {
        let platform = target.server.platform;
        let event = boxoffice_domain::notifications::invite_event(platform);
        let batch = match target.reads {
            Some(r) => r.notice_batch(self, self.db.ex(), event).await?,
            None => Arc::new(self.notice_batch(self.db.ex(), event).await?),
        };
        if !batch.reaches_anyone() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let notice = self
            .invited_notice(
                tx.ex(),
                target.customer,
                target.server,
                share_id,
                target.who,
            )
            .await?
            .once(key);
        if self.queue_notice(tx.ex(), &batch, notice).await? > 0 {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The share as it reads once the server's user is known: the read-back finds it by these ids.
fn naming(share: &ShareRow, user: &UserRef) -> ShareRow {
    ShareRow {
        remote_user_id: user.user_id.clone(),
        remote_invite_id: user.share_id.clone().unwrap_or_default(),
        ..share.clone()
    }
}

/// The name the customer has on a server of this platform.
pub(crate) fn identity(c: &CustomerRow, platform: ServerPlatform) -> String {
    let pick = match platform {
        ServerPlatform::Plex => &c.plex_email,
        ServerPlatform::Emby => &c.emby_username,
        ServerPlatform::Jellyfin => &c.jellyfin_username,
    };
    if pick.is_empty() {
        c.email.clone()
    } else {
        pick.clone()
    }
}

/// The customer's user on the server: by the id we recorded (one read on Jellyfin/Emby), else
/// by name or e-mail among every user (a job that invited and then failed before recording
/// finds its own invite this way, and a recorded user deleted by hand is looked for by name).
async fn find_user(
    client: &dyn MediaServer,
    share: &ShareRow,
    who: &str,
) -> Result<Option<MediaUser>, AppError> {
    if client.platform() != Platform::Plex && !share.remote_user_id.is_empty() {
        let recorded = UserRef::user(share.remote_user_id.clone());
        if let Some(u) = client.user(&recorded).await? {
            return Ok(Some(u));
        }
    }
    let users = client.users().await?;
    Ok(match_user(&users, share, who).cloned())
}

/// plex.tv's 422 "you're already sharing this server with …".
fn already_sharing(e: &MediaError) -> bool {
    matches!(
        e,
        MediaError::PlexRefused {
            reason: PlexRefusal::AlreadyShared,
            ..
        }
    )
}

/// Whether the share's user can be created without looking for it first: Jellyfin and Emby
/// refuse a name already taken, Plex invites are looked up (plex.tv throttles invites anyway).
fn creates_refusing_taken_names(client: &dyn MediaServer, share: &ShareRow) -> bool {
    client.platform() != Platform::Plex
        && share.remote_user_id.is_empty()
        && share.remote_invite_id.is_empty()
}

/// The share's user among a server's users: by recorded ids first, else by name or e-mail.
pub(super) fn match_user<'a>(
    users: &'a [MediaUser],
    share: &ShareRow,
    who: &str,
) -> Option<&'a MediaUser> {
    let by_id = users.iter().find(|u| {
        (!share.remote_user_id.is_empty() && u.user_ref.user_id == share.remote_user_id)
            || (!share.remote_invite_id.is_empty()
                && u.user_ref.share_id.as_deref() == Some(share.remote_invite_id.as_str()))
    });
    let by_name = || {
        users.iter().find(|u| {
            u.name.eq_ignore_ascii_case(who)
                || u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(who))
        })
    };
    by_id.or_else(by_name)
}
