//! "New customer" on the Users page: one customer invited from a form, for owners who do not
//! write CSV. Every field is checked first and every mistake named on its field; then the manual
//! invite does the work (customer, payment, share and the invite job in one transaction).

use super::{InviteInput, InviteOutcome};
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_domain::money::{Currency, Money};
use boxoffice_domain::platform::Platform;
use boxoffice_store::{StoreError, customers, payments};

/// The form as typed. Empty text means "not given".
#[derive(Clone, Debug, Default)]
pub struct NewCustomerForm {
    pub email: String,
    pub plan_id: String,
    /// A server id, or empty for automatic selection.
    pub server_id: String,
    /// No payment: permanent access, nothing recorded as paid.
    pub permanent: bool,
    /// Such as 12.50; empty: quantity × the plan's price.
    pub amount: String,
    pub quantity: String,
    pub method: String,
    pub notes: String,
    /// The Plex account (e-mail or username) when it is not the e-mail above.
    pub plex_identity: String,
    /// The Jellyfin/Emby user name; empty: the e-mail.
    pub username: String,
    /// A key rendered into the form: a form sent twice records one payment.
    pub form_key: String,
}

/// One mistake, on the form field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum NewCustomerError {
    /// Bad input: nothing was written.
    Fields(Vec<FieldError>),
    Failed(AppError),
}

impl From<AppError> for NewCustomerError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, message } => NewCustomerError::Fields(vec![FieldError {
                field: form_field(field),
                message,
            }]),
            other => NewCustomerError::Failed(other),
        }
    }
}

/// The invite's field names as the form names them.
fn form_field(invite_field: &'static str) -> &'static str {
    match invite_field {
        "plan_id" => "plan_id",
        "amount_minor" => "amount",
        "quantity" => "quantity",
        "server_id" => "server_id",
        _ => "email",
    }
}

/// Jellyfin's rule for user names (Emby's is no stricter): letters, digits, space and
/// `-_'.@+`, not `.` or `..`, no space at either end.
fn valid_media_username(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.trim() == name
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || " -_'.@+".contains(c))
}

impl App {
    pub async fn invite_new_customer(
        &self,
        actor: &Actor,
        form: &NewCustomerForm,
    ) -> Result<InviteOutcome, NewCustomerError> {
        let mut errors = Vec::new();
        let mut refuse = |field: &'static str, message: &str| {
            errors.push(FieldError {
                field,
                message: message.to_string(),
            });
        };
        let email = match Email::parse(form.email.trim()) {
            Ok(e) => Some(e),
            Err(e) => {
                refuse("email", &e.to_string());
                None
            }
        };
        // The same form sent twice (a double click, a reload) names the payment it recorded:
        // the invite replays it instead of refusing the customer it created.
        let transaction_id = Some(form.form_key.trim())
            .filter(|k| !k.is_empty())
            .map(|k| format!("manual-{k}"));
        let replay = match &transaction_id {
            Some(t) => match payments::find_by_transaction(self.db.ex(), t, 1).await {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(AppError::from(e).into()),
            },
            None => false,
        };
        if let Some(e) = email.as_ref().filter(|_| !replay) {
            match customers::find_by_email_key(self.db.ex(), &e.normalized()).await {
                Ok(c) => refuse(
                    "email",
                    &format!(
                        "A customer with this e-mail exists already (#{}): renew them on their page.",
                        c.id
                    ),
                ),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(AppError::from(e).into()),
            }
        }
        let plans = self.list_plans().await?;
        let plan = match form.plan_id.trim().parse::<i64>() {
            Ok(id) => plans.iter().find(|p| p.plan.id == id),
            Err(_) => None,
        };
        if plan.is_none() {
            refuse("plan_id", "Choose a plan from the list.");
        }
        let server_id = match form.server_id.trim() {
            "" | "auto" => None,
            v => match v.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    refuse("server_id", "Choose a server from the list, or automatic.");
                    None
                }
            },
        };
        let server = match server_id {
            Some(id) => match self.server(id).await {
                Ok(s) => Some(s),
                Err(AppError::NotFound(_)) => {
                    refuse("server_id", "That server does not exist any more.");
                    None
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let quantity = match form.quantity.trim() {
            "" => None,
            v => match v.parse::<u32>() {
                Ok(n) if (1..=120).contains(&n) => Some(n),
                _ => {
                    refuse(
                        "quantity",
                        "Periods bought is a whole number from 1 to 120.",
                    );
                    None
                }
            },
        };
        let amount_minor = match (form.permanent, form.amount.trim(), plan) {
            // Permanent access: nothing was paid.
            (true, _, _) => Some(0),
            (false, "", _) => None,
            (false, raw, Some(p)) => {
                let currency = Currency::parse(&p.plan.currency)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                match Money::parse_decimal(raw, currency) {
                    Ok(m) if m.minor >= 0 => Some(m.minor),
                    Ok(_) => {
                        refuse("amount", "An amount is not negative.");
                        None
                    }
                    Err(e) => {
                        refuse(
                            "amount",
                            &format!("The amount is a number such as 8.00: {e}"),
                        );
                        None
                    }
                }
            }
            (false, _, None) => None,
        };
        let username = form.username.trim();
        let needs_username = server
            .as_ref()
            .is_some_and(|s| s.platform == Platform::Jellyfin || s.platform == Platform::Emby);
        if !username.is_empty() && !valid_media_username(username) {
            refuse(
                "username",
                "A Jellyfin/Emby user name has letters, digits, spaces and - _ ' . @ + only, with no space at either end.",
            );
        }
        if needs_username && username.is_empty() && !valid_media_username(form.email.trim()) {
            refuse(
                "username",
                "This e-mail cannot be a Jellyfin/Emby user name: give a user name.",
            );
        }
        let plex_identity = form.plex_identity.trim();
        if plex_identity.chars().count() > 320 || plex_identity.contains(char::is_whitespace) {
            refuse(
                "plex_identity",
                "A Plex account is an e-mail or a user name, without spaces.",
            );
        }
        if form.method.trim().chars().count() > 60 {
            refuse("method", "The payment method is at most 60 characters.");
        }
        if form.notes.chars().count() > 2000 {
            refuse("notes", "Notes are at most 2000 characters.");
        }
        let (Some(email), Some(plan)) = (email, plan) else {
            return Err(NewCustomerError::Fields(errors));
        };
        if !errors.is_empty() {
            return Err(NewCustomerError::Fields(errors));
        }
        let text = |s: &str| Some(s.trim().to_string()).filter(|t| !t.is_empty());
        let method = if form.permanent {
            Some("none (permanent)".to_string())
        } else {
            text(&form.method)
        };
        let out = self
            .invite(
                actor,
                InviteInput {
                    email: email.as_str().to_string(),
                    plan_id: plan.plan.id,
                    server_id,
                    quantity,
                    amount_minor,
                    transaction_id,
                    permanent: Some(form.permanent),
                    username: text(username),
                    plex_identity: text(plex_identity),
                    method,
                    notes: text(&form.notes),
                    ..InviteInput::default()
                },
            )
            .await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_media_username;

    #[test]
    fn media_user_names_follow_jellyfins_rule() {
        for ok in ["ann", "ann@example.com", "Ann Lee", "o'neil", "a+b_c-d.e"] {
            assert!(valid_media_username(ok), "{ok}");
        }
        for bad in ["", ".", "..", " ann", "ann ", "ann/lee", "ann<b>"] {
            assert!(!valid_media_username(bad), "{bad}");
        }
    }
}
