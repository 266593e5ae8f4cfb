//! The e-mailed login code: the second step for staff logins without an authenticator app, when
//! the owner switches it on. A 6-digit code is sent to the login's own address, is valid for ten
//! minutes for the one session that asked for it, is used once, and five wrong tries void it.

use super::SessionCtx;
use crate::crypto::{random_bytes, token_hash};
use crate::notify::Notice;
use crate::{App, AppError};
use boxoffice_store::{Ex, StoreError, throttle, tokens};

const CODE_TTL_SECS: i64 = 600;
const MAX_WRONG: i64 = 5;

fn purpose(session_hash: &str) -> String {
    format!("login_code:{session_hash}")
}

fn code_hash(session_hash: &str, code: &str) -> String {
    token_hash(&format!("{session_hash}:{code}"))
}

/// Six digits, uniformly drawn.
fn six_digits() -> Result<String, AppError> {
    loop {
        let b = random_bytes::<4>()?;
        let n = u32::from_le_bytes(b);
        // Rejection sampling keeps every code equally likely.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Whether a staff login without TOTP must confirm an e-mailed code.
pub(super) fn email_code_required(s: &crate::settings::Settings) -> bool {
    s.bool("security.email_two_factor") && s.bool("email.enabled")
}

impl App {
    /// Whether this session's second step is an e-mailed code (no authenticator app enrolled).
    pub async fn second_factor_by_email(&self, s: &SessionCtx) -> Result<bool, AppError> {
        Ok(!self.totp_enabled(s.login_id).await?)
    }

    /// Issues a code for the session being created and queues the e-mail, in the login's
    /// transaction.
    pub(crate) async fn issue_email_code(
        &self,
        mut ex: Ex<'_>,
        login_id: i64,
        email: &str,
        session_hash: &str,
    ) -> Result<(), AppError> {
        let code = six_digits()?;
        let now = self.now();
        tokens::insert_email_token(
            ex.reborrow(),
            Some(login_id),
            &purpose(session_hash),
            &code_hash(session_hash, &code),
            now,
            now + CODE_TTL_SECS,
        )
        .await?;
        let shown = format!("{} {}", &code[..3], &code[3..]);
        self.notify(
            ex,
            Notice::to_address("two_factor_code", email).with("two_factor_code", shown),
        )
        .await?;
        Ok(())
    }

    /// Checks an e-mailed code; Ok(true) when it is right (and now used).
    pub(crate) async fn check_email_code(
        &self,
        mut ex: Ex<'_>,
        s: &SessionCtx,
        code: &str,
    ) -> Result<bool, AppError> {
        let now = self.now();
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        let p = purpose(&s.token_hash);
        match tokens::consume_email_token(
            ex.reborrow(),
            &code_hash(&s.token_hash, &digits),
            &p,
            now,
        )
        .await
        {
            Ok(_) => {
                throttle::clear(ex, &format!("code:{}", s.token_hash)).await?;
                Ok(true)
            }
            Err(StoreError::NotFound) => {
                let c = throttle::record_failure(
                    ex.reborrow(),
                    &format!("code:{}", s.token_hash),
                    now,
                    CODE_TTL_SECS,
                    |_| 0,
                )
                .await?;
                if c.failures >= MAX_WRONG {
                    tokens::void_email_tokens(ex, &p, now).await?;
                    return Err(AppError::invalid(
                        "code",
                        "Too many wrong codes. Log out and log in again to get a new code.",
                    ));
                }
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = super::six_digits().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
    }
}
