//! Writing a customer's chosen Jellyfin/Emby password to the server.

use crate::{JobError, Registry};
use boxoffice_app::subscriptions::MEDIA_PASSWORD_JOB;

pub fn register(r: &mut Registry) {
    r.handle(MEDIA_PASSWORD_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["link_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no link_id: {}",
                ctx.payload
            )));
        };
        // The last attempt ends the link as failed (and wipes the password) before the job dies.
        let last = ctx.attempt >= ctx.max_attempts;
        app.apply_media_password(id, last).await?;
        tracing::info!(link_id = id, "media password written");
        Ok::<(), JobError>(())
    });
}
