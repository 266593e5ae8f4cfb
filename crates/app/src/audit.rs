use crate::App;
use boxoffice_store::{Ex, audit};

/// Who did something, for the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    pub login_id: Option<i64>,
    pub label: String,
    pub ip: String,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            login_id: None,
            label: "cli".into(),
            ip: String::new(),
        }
    }

    pub fn system() -> Self {
        Self {
            login_id: None,
            label: "system".into(),
            ip: String::new(),
        }
    }
}

impl App {
    pub async fn audit(
        &self,
        ex: Ex<'_>,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), crate::AppError> {
        audit::record(
            ex,
            audit::NewAudit {
                at: self.now(),
                actor_login_id: actor.login_id,
                actor: &actor.label,
                action,
                target,
                detail,
                ip: &actor.ip,
            },
        )
        .await?;
        Ok(())
    }
}

impl App {
    pub async fn recent_audit(
        &self,
        limit: i64,
    ) -> Result<Vec<audit::AuditEntry>, crate::AppError> {
        Ok(audit::recent(self.db.ex(), limit).await?)
    }
}
