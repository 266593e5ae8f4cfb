//! TOTP enrolment and the second login step. A used time step is stored and refused a second time;
//! recovery codes are single-use and stored hashed.

use super::SessionCtx;
use crate::crypto::{random_bytes, token_hash};
use crate::totp::{self, base32_decode, base32_encode};
use crate::{App, AppError};
use boxoffice_domain::permission::format_list;
use boxoffice_store::{StoreError, logins, roles, sessions, totp as store};

pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

const RECOVERY_CODES: usize = 10;

fn new_recovery_code() -> Result<String, AppError> {
    let b = random_bytes::<7>()?;
    let s = base32_encode(&b).to_lowercase();
    Ok(format!("{}-{}", &s[..5], &s[5..10]))
}

fn normalize_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(' ', "")
}

impl App {
    pub async fn begin_totp_enrolment(&self, s: &SessionCtx) -> Result<Enrolment, AppError> {
        if self.totp_enabled(s.login_id).await? {
            return Err(AppError::Conflict(
                "two-factor authentication is already on for this login".into(),
            ));
        }
        let secret = random_bytes::<20>()?;
        let b32 = base32_encode(&secret);
        store::put_pending(self.db.ex(), s.login_id, &self.secrets.seal(&b32)?).await?;
        let issuer = self.settings().await?.get("general.site_name").to_string();
        let uri = totp::otpauth_uri(&issuer, &s.email, &b32);
        Ok(Enrolment {
            qr_svg: totp::qr_svg(&uri),
            otpauth_uri: uri,
            secret_base32: b32,
        })
    }

    /// Shows the pending secret again (a page reload during enrolment).
    pub async fn pending_enrolment(&self, s: &SessionCtx) -> Result<Option<Enrolment>, AppError> {
        match store::find(self.db.ex(), s.login_id).await {
            Ok(t) if t.confirmed_at.is_none() => {
                let b32 = self.secrets.open(&t.secret_enc)?;
                let issuer = self.settings().await?.get("general.site_name").to_string();
                let uri = totp::otpauth_uri(&issuer, &s.email, &b32);
                Ok(Some(Enrolment {
                    qr_svg: totp::qr_svg(&uri),
                    otpauth_uri: uri,
                    secret_base32: b32,
                }))
            }
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn totp_enabled(&self, login_id: i64) -> Result<bool, AppError> {
        match store::find(self.db.ex(), login_id).await {
            Ok(t) => Ok(t.confirmed_at.is_some()),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Confirms enrolment with a first code and returns the recovery codes, shown once.
    pub async fn confirm_totp(
        &self,
        s: &SessionCtx,
        code: &str,
        ip: &str,
    ) -> Result<Vec<String>, AppError> {
        let t = store::find(self.db.ex(), s.login_id)
            .await
            .map_err(AppError::not_found_as("pending enrolment"))?;
        if t.confirmed_at.is_some() {
            return Err(AppError::Conflict(
                "two-factor authentication is already on for this login".into(),
            ));
        }
        let secret = base32_decode(&self.secrets.open(&t.secret_enc)?)
            .ok_or_else(|| AppError::Internal("stored TOTP secret is not base32".into()))?;
        let now = self.now();
        let step = totp::matching_step(&secret, code, now)
            .ok_or_else(|| AppError::invalid("code", "That code is not right. Check the time on your phone and enter the current 6-digit code."))?;
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| new_recovery_code())
            .collect::<Result<_, _>>()?;
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| token_hash(&normalize_recovery(c)))
            .collect();
        let mut tx = self.db.begin().await?;
        if !store::use_step(tx.ex(), s.login_id, step, Some(now)).await? {
            return Err(AppError::invalid(
                "code",
                "That code was already used. Wait for the next one.",
            ));
        }
        store::replace_recovery_codes(tx.ex(), s.login_id, &hashes).await?;
        self.audit(tx.ex(), &s.actor(ip), "2fa.enabled", &s.email, "totp")
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// The second login step: a current TOTP code not used before, or an unused recovery code.
    pub async fn verify_second_factor(
        &self,
        s: &SessionCtx,
        code: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        if !s.mfa_pending {
            return Ok(());
        }
        // No authenticator app enrolled: the session waits for an e-mailed code instead.
        let t = match store::find(self.db.ex(), s.login_id).await {
            Ok(t) if t.confirmed_at.is_some() => Some(t),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let secret = match &t {
            Some(t) => Some(
                base32_decode(&self.secrets.open(&t.secret_enc)?)
                    .ok_or_else(|| AppError::Internal("stored TOTP secret is not base32".into()))?,
            ),
            None => None,
        };
        let step = secret
            .as_ref()
            .and_then(|secret| totp::matching_step(secret, code, now));
        let accepted = match (secret.is_some(), step) {
            (false, _) => match self.check_email_code(tx.ex(), s, code).await {
                Ok(ok) => ok,
                Err(e) => {
                    self.audit(tx.ex(), &s.actor(ip), "2fa.failed", &s.email, "code voided")
                        .await?;
                    tx.commit().await?;
                    return Err(e);
                }
            },
            (true, Some(step)) => {
                if !store::use_step(tx.ex(), s.login_id, step, None).await? {
                    let actor = s.actor(ip);
                    self.audit(tx.ex(), &actor, "2fa.reused_code", &s.email, "")
                        .await?;
                    tx.commit().await?;
                    return Err(AppError::invalid(
                        "code",
                        "That code was already used. Wait for the next code from your app.",
                    ));
                }
                true
            }
            (true, None) => {
                store::use_recovery_code(
                    tx.ex(),
                    s.login_id,
                    &token_hash(&normalize_recovery(code)),
                    now,
                )
                .await?
            }
        };
        if !accepted {
            self.audit(tx.ex(), &s.actor(ip), "2fa.failed", &s.email, "")
                .await?;
            tx.commit().await?;
            return Err(AppError::invalid("code", "That code is not right."));
        }
        let login = logins::find(tx.ex(), s.login_id).await?;
        let role = roles::find(tx.ex(), login.role_id).await?;
        sessions::complete_mfa(tx.ex(), &s.token_hash, &format_list(&role.permissions)).await?;
        logins::record_login(tx.ex(), s.login_id, now).await?;
        self.audit(tx.ex(), &s.actor(ip), "login.success", &s.email, "2fa")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn disable_totp(&self, s: &SessionCtx, ip: &str) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        store::delete(tx.ex(), s.login_id).await?;
        store::replace_recovery_codes(tx.ex(), s.login_id, &[]).await?;
        self.audit(tx.ex(), &s.actor(ip), "2fa.disabled", &s.email, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn unused_recovery_codes(&self, login_id: i64) -> Result<i64, AppError> {
        Ok(store::count_unused_recovery_codes(self.db.ex(), login_id).await?)
    }
}
