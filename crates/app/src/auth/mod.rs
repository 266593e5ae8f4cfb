//! Site logins: passwords, sessions, throttling, two-factor and API tokens.

mod accounts;
mod customer_login;
mod email_code;
mod login;
mod password_reset;
mod registration;
mod site_logins;
mod tokens;
mod two_factor;

pub use login::{LoginOutcome, NewSessionToken, SessionCtx};
pub use password_reset::RESET_TTL_SECS;
pub(crate) use registration::policy_from as registration_policy_from;
pub use registration::{
    CONFIRM_TTL_SECS, RegisterError, Registered, RegistrationForm, RegistrationPolicy,
};
pub use site_logins::LIST_LIMIT as SITE_LOGINS_LIMIT;
pub use tokens::{ApiCtx, CreatedToken};
pub use two_factor::Enrolment;

use boxoffice_domain::Permission;

/// Who is calling, with the permissions their role grants at this request.
pub trait Principal {
    fn login_id(&self) -> i64;
    fn permissions(&self) -> &[Permission];

    fn can(&self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    fn require(&self, p: Permission) -> Result<(), crate::AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(crate::AppError::Forbidden(p.label().to_lowercase()))
        }
    }
}
