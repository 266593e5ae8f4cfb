//! Forgotten passwords: an e-mailed one-time link (an hour) to choose a new password. Asking
//! answers the same whether or not the address has a login, so the form tells nobody who is
//! registered; asking is throttled per address and per e-mail like the login.

use super::login::{FAILURE_MEMORY_SECS, delay_for};
use super::registration::site_link;
use crate::audit::Actor;
use crate::crypto::{random_token, token_hash};
use crate::notify::Notice;
use crate::{App, AppError};
use boxoffice_domain::{Email, password};
use boxoffice_store::registration as store;
use boxoffice_store::throttle::Take;
use boxoffice_store::{StoreError, logins, sessions, throttle, tokens};

pub const RESET_TTL_SECS: i64 = 3_600;
const RESET_PURPOSE: &str = "password_reset";
/// Reset e-mails one address may be sent within the throttle's memory before a pause.
const RESETS_PER_ACCOUNT: i64 = 3;

impl App {
    /// Sends a reset link to `email` when it is a login's (and not disabled). Answers `Ok(())`
    /// either way; `Throttled` when this address or e-mail asked too often.
    pub async fn request_password_reset(&self, email: &str, ip: &str) -> Result<(), AppError> {
        let settings = self.settings().await?;
        self.take_attempt("reset", ip, &settings).await?;
        let Ok(email) = Email::parse(email) else {
            return Err(AppError::invalid(
                "email",
                "Enter the e-mail address you registered with.",
            ));
        };
        let key = email.normalized();
        let login = match logins::find_by_email_key(self.db.ex(), &key).await {
            Ok(l) if !l.disabled => l,
            Ok(_) | Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let token = random_token()?;
        let mut tx = self.db.begin().await?;
        // Several e-mails to one inbox in a row: later asks are dropped quietly for a while.
        if let Take::Locked { .. } = throttle::take(
            tx.ex(),
            &format!("reset:acct:{key}"),
            now,
            FAILURE_MEMORY_SECS,
            |n| delay_for(n, RESETS_PER_ACCOUNT),
        )
        .await?
        {
            drop(tx);
            return Ok(());
        }
        tokens::insert_email_token(
            tx.ex(),
            Some(login.id),
            RESET_PURPOSE,
            &token_hash(&token),
            now,
            now + RESET_TTL_SECS,
        )
        .await?;
        self.notify(
            tx.ex(),
            Notice::to_address("password_reset", &login.email).with(
                "reset_url",
                site_link(&settings, &format!("/password/reset/{token}")),
            ),
        )
        .await?;
        let actor = Actor {
            login_id: None,
            label: key.clone(),
            ip: ip.to_string(),
        };
        self.audit(tx.ex(), &actor, "login.reset_requested", &login.email, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a reset link can still be used (to show its form).
    pub async fn password_reset_valid(&self, token: &str) -> Result<bool, AppError> {
        match tokens::find_valid_email_token(
            self.db.ex(),
            &token_hash(token),
            RESET_PURPOSE,
            self.now(),
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Uses a reset link: sets the new password, confirms the e-mail (the link proved it) and
    /// ends every session of the login. A weak or mistyped password leaves the link usable.
    /// Answers the login's e-mail.
    pub async fn complete_password_reset(
        &self,
        token: &str,
        new_password: &str,
        confirm: &str,
        ip: &str,
    ) -> Result<String, AppError> {
        if !self.password_reset_valid(token).await? {
            return Err(AppError::Unauthorized(
                "This reset link has expired or was already used. Ask for a new one.".into(),
            ));
        }
        password::check(new_password).map_err(|e| AppError::invalid("password", e.to_string()))?;
        if new_password != confirm {
            return Err(AppError::invalid(
                "confirm",
                "The two passwords differ: type the same password twice.",
            ));
        }
        let hash = self.hash_password(new_password).await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let t = tokens::consume_email_token(tx.ex(), &token_hash(token), RESET_PURPOSE, now)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::Unauthorized(
                    "This reset link has expired or was already used. Ask for a new one.".into(),
                ),
                e => e.into(),
            })?;
        let login_id = t
            .login_id
            .ok_or_else(|| AppError::Internal("reset token without a login".into()))?;
        logins::set_password(tx.ex(), login_id, &hash, now)
            .await
            .map_err(AppError::not_found_as("login"))?;
        store::confirm_login_email(tx.ex(), login_id).await?;
        let ended = sessions::delete_all_for_login(tx.ex(), login_id).await?;
        let login = logins::find(tx.ex(), login_id).await?;
        throttle::clear(tx.ex(), &format!("acct:{}", login.email_key)).await?;
        let actor = Actor {
            login_id: Some(login_id),
            label: login.email.clone(),
            ip: ip.to_string(),
        };
        self.audit(
            tx.ex(),
            &actor,
            "login.password_reset",
            &login.email,
            &format!("{ended} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(login.email)
    }
}
