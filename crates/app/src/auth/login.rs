use super::Principal;
use crate::audit::Actor;
use crate::crypto::{random_token, token_hash};
use crate::{App, AppError};
use boxoffice_domain::{Email, Permission, RoleKind, permission::format_list};
use boxoffice_store::sessions::{self, NewSession};
use boxoffice_store::throttle::Take;
use boxoffice_store::{StoreError, logins, roles, throttle, totp};

/// Failures within this window count towards the delay; a quiet spell resets them.
pub(super) const FAILURE_MEMORY_SECS: i64 = 15 * 60;
const MAX_DELAY_SECS: i64 = 15 * 60;
/// Per-address counters tolerate more failures than per-account ones: many people can share one
/// address (a household, a carrier NAT).
pub(super) const IP_FACTOR: i64 = 4;

pub struct NewSessionToken {
    /// Goes into the cookie; only its hash is stored.
    pub token: String,
    pub csrf_token: String,
    pub mfa_pending: bool,
    pub is_admin_area: bool,
}

pub enum LoginOutcome {
    LoggedIn(NewSessionToken),
    /// Same answer for an unknown e-mail and a wrong password.
    Invalid,
    /// The password is right but the e-mail was never confirmed (a registration whose link was
    /// not followed yet).
    Unconfirmed,
    Throttled {
        retry_after: i64,
    },
}

#[derive(Clone, Debug)]
pub struct SessionCtx {
    pub token_hash: String,
    pub login_id: i64,
    pub email: String,
    pub csrf_token: String,
    pub mfa_pending: bool,
    pub permissions: Vec<Permission>,
    pub role: RoleKind,
}

impl Principal for SessionCtx {
    fn login_id(&self) -> i64 {
        self.login_id
    }
    fn permissions(&self) -> &[Permission] {
        if self.mfa_pending {
            &[]
        } else {
            &self.permissions
        }
    }
}

impl SessionCtx {
    /// Whether this login may enter the admin panel at all.
    pub fn is_staff(&self) -> bool {
        !self.mfa_pending && self.role != RoleKind::User
    }

    pub fn actor(&self, ip: &str) -> Actor {
        Actor {
            login_id: Some(self.login_id),
            label: self.email.clone(),
            ip: ip.to_string(),
        }
    }
}

pub(super) fn delay_for(failures: i64, threshold: i64) -> i64 {
    if failures < threshold {
        0
    } else {
        // Doubles with each failure past the threshold: 1 s, 2 s, 4 s, … up to 15 minutes.
        let exp = (failures - threshold).min(20) as u32;
        (1i64 << exp).min(MAX_DELAY_SECS)
    }
}

impl App {
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: &str,
        user_agent: &str,
    ) -> Result<LoginOutcome, AppError> {
        let now = self.now();
        let settings = self.settings().await?;
        let threshold = settings.int("security.login_attempts_before_delay").max(1);
        let email_key = Email::parse(email)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        let acct_key = format!("acct:{email_key}");
        let ip_key = format!("ip:{ip}");

        // The attempt is counted before the password is checked, so any number arriving at once
        // meet the limit one after another instead of all passing a check made before any of
        // them failed.
        let limits = [
            (acct_key.as_str(), threshold),
            (ip_key.as_str(), threshold * IP_FACTOR),
        ];
        let mut tx = self.db.begin().await?;
        let mut wait = 0;
        for (key, limit) in limits {
            if let Take::Locked { until } =
                throttle::take(tx.ex(), key, now, FAILURE_MEMORY_SECS, |n| {
                    delay_for(n, limit)
                })
                .await?
            {
                wait = wait.max(until - now);
            }
        }
        if wait > 0 {
            // Nothing is counted for a refused attempt.
            drop(tx);
            return Ok(LoginOutcome::Throttled { retry_after: wait });
        }
        tx.commit().await?;

        let login = match logins::find_by_email_key(self.db.ex(), &email_key).await {
            Ok(l) => Some(l),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let ok = match self
            .verify_password(password, login.as_ref().map(|l| l.password_hash.as_str()))
            .await
        {
            Ok(ok) => ok,
            Err(busy @ AppError::Busy { .. }) => {
                // Never checked, so it must not count against the person trying again.
                let mut tx = self.db.begin().await?;
                for (key, limit) in limits {
                    throttle::give_back(tx.ex(), key, |n| delay_for(n, limit)).await?;
                }
                tx.commit().await?;
                return Err(busy);
            }
            Err(e) => return Err(e),
        };
        let login = match login {
            Some(l) if ok && !l.disabled => l,
            _ => {
                let actor = Actor {
                    login_id: None,
                    label: email_key.clone(),
                    ip: ip.to_string(),
                };
                self.audit(self.db.ex(), &actor, "login.failed", &email_key, "")
                    .await?;
                return Ok(LoginOutcome::Invalid);
            }
        };

        if !login.email_confirmed {
            // Only the right password learns this, so it tells nobody else the account exists.
            let actor = Actor {
                login_id: Some(login.id),
                label: login.email.clone(),
                ip: ip.to_string(),
            };
            self.audit(self.db.ex(), &actor, "login.unconfirmed", &login.email, "")
                .await?;
            return Ok(LoginOutcome::Unconfirmed);
        }
        let role = roles::find(self.db.ex(), login.role_id).await?;
        let mfa = match totp::find(self.db.ex(), login.id).await {
            Ok(t) => t.confirmed_at.is_some(),
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        let email_code = !mfa
            && role.kind != RoleKind::User
            && super::email_code::email_code_required(&settings);
        let mfa = mfa || email_code;
        let token = random_token()?;
        let csrf = random_token()?;
        let max_days = settings.int("security.session_max_days");
        let mut tx = self.db.begin().await?;
        throttle::clear(tx.ex(), &acct_key).await?;
        // A success does not count towards the address's limit (many people may share it).
        throttle::give_back(tx.ex(), &ip_key, |n| delay_for(n, threshold * IP_FACTOR)).await?;
        sessions::insert(
            tx.ex(),
            NewSession {
                id_hash: &token_hash(&token),
                login_id: login.id,
                csrf_token: &csrf,
                mfa_pending: mfa,
                permissions: &format_list(&role.permissions),
                now,
                expires_at: now + max_days * 86_400,
                ip,
                user_agent: &user_agent.chars().take(200).collect::<String>(),
            },
        )
        .await?;
        if !mfa {
            logins::record_login(tx.ex(), login.id, now).await?;
        }
        if email_code {
            self.issue_email_code(tx.ex(), login.id, &login.email, &token_hash(&token))
                .await?;
        }
        let actor = Actor {
            login_id: Some(login.id),
            label: login.email.clone(),
            ip: ip.to_string(),
        };
        self.audit(
            tx.ex(),
            &actor,
            if mfa {
                "login.password_ok"
            } else {
                "login.success"
            },
            &login.email,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(LoginOutcome::LoggedIn(NewSessionToken {
            token,
            csrf_token: csrf,
            mfa_pending: mfa,
            is_admin_area: role.kind != RoleKind::User,
        }))
    }

    /// The session behind a cookie, or None when it does not exist, ended, or sat idle too long.
    pub async fn session(&self, token: &str) -> Result<Option<SessionCtx>, AppError> {
        let hash = token_hash(token);
        let s = match sessions::find(self.db.ex(), &hash).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let idle = self.settings().await?.int("security.session_idle_minutes") * 60;
        if s.expires_at <= now || s.last_seen_at + idle <= now {
            sessions::delete(self.db.ex(), &hash).await?;
            return Ok(None);
        }
        // Writing on every request would turn reads into writes; a minute's precision is enough.
        if now - s.last_seen_at >= 60 {
            sessions::touch(self.db.ex(), &hash, now).await?;
        }
        let login = logins::find(self.db.ex(), s.login_id).await?;
        if login.disabled {
            return Ok(None);
        }
        let role = roles::find(self.db.ex(), login.role_id).await?;
        Ok(Some(SessionCtx {
            token_hash: hash,
            login_id: s.login_id,
            email: login.email,
            csrf_token: s.csrf_token,
            mfa_pending: s.mfa_pending,
            // The role as it is now, not as it was at login: a role changed or taken away
            // applies to sessions already open, at their next request.
            permissions: role.permissions,
            role: role.kind,
        }))
    }

    pub async fn logout(&self, session: &SessionCtx, ip: &str) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        sessions::delete(tx.ex(), &session.token_hash).await?;
        self.audit(tx.ex(), &session.actor(ip), "logout", &session.email, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn logout_everywhere(&self, session: &SessionCtx, ip: &str) -> Result<u64, AppError> {
        let mut tx = self.db.begin().await?;
        let n = sessions::delete_all_for_login(tx.ex(), session.login_id).await?;
        self.audit(
            tx.ex(),
            &session.actor(ip),
            "logout.everywhere",
            &session.email,
            &format!("{n} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Deletes ended sessions, stale throttle counters, expired one-time tokens and old
    /// idempotency keys. Returns how many rows went.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AppError> {
        let now = self.now();
        let idle = self.settings().await?.int("security.session_idle_minutes") * 60;
        let mut n = sessions::purge(self.db.ex(), now, now - idle).await?;
        n += throttle::purge(self.db.ex(), now - FAILURE_MEMORY_SECS).await?;
        n += boxoffice_store::tokens::purge_email_tokens(self.db.ex(), now).await?;
        n += boxoffice_store::idempotency::purge(self.db.ex(), now - 86_400).await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_delay_doubles_past_the_threshold_and_is_capped() {
        assert_eq!(super::delay_for(4, 5), 0);
        assert_eq!(super::delay_for(5, 5), 1);
        assert_eq!(super::delay_for(7, 5), 4);
        assert_eq!(super::delay_for(60, 5), 900);
    }
}
