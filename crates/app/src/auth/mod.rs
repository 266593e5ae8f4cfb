//! Site logins: passwords, sessions, throttling, two-factor and API tokens.

mod accounts;
mod email_code;
mod login;
mod tokens;
mod two_factor;

pub use login::{LoginOutcome, NewSessionToken, SessionCtx};
pub use tokens::{ApiCtx, CreatedToken};
pub use two_factor::Enrolment;

use boxoffice_domain::Permission;
use boxoffice_domain::permission::parse_list;

/// Who is calling, with the permissions captured when they logged in.
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

pub(crate) fn parse_permissions(s: &str) -> Vec<Permission> {
    // Names removed in a later version are dropped rather than locking the login out.
    parse_list(s).unwrap_or_else(|_| {
        s.split(',')
            .filter_map(|p| Permission::from_name(p.trim()))
            .collect()
    })
}
