//! The Contact Us page: a customer (or a visitor, when the page is open to them) writes to the
//! administrator. The message is relayed as the `contact_us` notification, never stored apart.

use super::Notice;
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_store::{StoreError, customers, throttle};

/// How many messages one sender may send in [`CONTACT_WINDOW_SECS`].
pub const CONTACT_LIMIT: i64 = 5;
pub const CONTACT_WINDOW_SECS: i64 = 3600;
pub const CONTACT_MESSAGE_MAX: usize = 5000;
const NAME_MAX: usize = 200;

/// What the form sent, and who sent it.
pub struct ContactMessage<'a> {
    /// The logged-in login's e-mail, when there is a session; links the message to the customer.
    pub login_email: Option<&'a str>,
    pub ip: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub message: &'a str,
}

impl App {
    /// Validates the message and queues it to the administrator. Each sender (login, else
    /// address) may send [`CONTACT_LIMIT`] messages an hour; more answer `Throttled`.
    pub async fn contact_us(&self, m: &ContactMessage<'_>) -> Result<(), AppError> {
        let name = m.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid("name", "Enter your name."));
        }
        if name.chars().count() > NAME_MAX {
            return Err(AppError::invalid(
                "name",
                format!("The name is longer than {NAME_MAX} characters."),
            ));
        }
        let email = Email::parse(m.email).map_err(|e| {
            AppError::invalid("email", format!("Enter a valid e-mail address ({e})."))
        })?;
        let message = m.message.trim();
        if message.is_empty() {
            return Err(AppError::invalid("message", "Write a message."));
        }
        let len = message.chars().count();
        if len > CONTACT_MESSAGE_MAX {
            return Err(AppError::invalid(
                "message",
                format!("The message is {len} characters long; the most is {CONTACT_MESSAGE_MAX}."),
            ));
        }

        let customer_id = match m.login_email.map(Email::parse) {
            Some(Ok(e)) => {
                match customers::find_by_email_key(self.db.ex(), &e.normalized()).await {
                    Ok(c) => Some(c.id),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        };
        let key = match m.login_email {
            Some(l) => format!("contact:login:{}", l.trim().to_lowercase()),
            None => format!("contact:ip:{}", m.ip),
        };
        let now = self.now();
        if let Some(c) = throttle::get(self.db.ex(), &key).await?
            && c.locked_until > now
        {
            return Err(AppError::Throttled {
                retry_after: c.locked_until - now,
            });
        }

        let mut tx = self.db.begin().await?;
        throttle::record_failure(tx.ex(), &key, now, CONTACT_WINDOW_SECS, |n| {
            if n >= CONTACT_LIMIT {
                CONTACT_WINDOW_SECS
            } else {
                0
            }
        })
        .await?;
        let queued = self
            .notify(
                tx.ex(),
                Notice::to_admin("contact_us", customer_id)
                    .with("contact_name", name)
                    .with("contact_email", email.to_string())
                    .with("contact_message", message),
            )
            .await?;
        tx.commit().await?;
        if queued == 0 {
            // The sender is thanked either way; the owner learns from the log that nobody can
            // receive these messages.
            tracing::warn!(
                "a Contact Us message reached nobody: turn on e-mail or Discord and set the administrator contact, or switch the Contact Us Message templates on"
            );
        }
        Ok(())
    }
}
