//! The bulk-invite job: processes an import's pending rows in file order (see
//! `boxoffice_app::bulk_invite`). A re-run after a crash resumes at the first pending row.

use crate::{JobError, Registry};
use boxoffice_app::bulk_invite::BULK_INVITE_JOB;

pub fn register(r: &mut Registry) {
    r.handle(BULK_INVITE_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["bulk_invite_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no bulk_invite_id: {}",
                ctx.payload
            )));
        };
        let n = app.run_bulk_invite_under(id, None, &ctx.lease).await?;
        tracing::info!(bulk_invite_id = id, rows = n, "bulk invite processed");
        Ok::<(), JobError>(())
    });
}
