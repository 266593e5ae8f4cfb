//! A confirmed site login made for an existing customer without the registration round trip:
//! `boxoffice demo` gives its demo customer one so a visitor can log in at once.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::RoleKind;
use boxoffice_store::logins::Login;
use boxoffice_store::{StoreError, customers, registration};

impl App {
    /// Creates a confirmed customer login with the customer's e-mail and links it to them.
    pub async fn create_customer_login(
        &self,
        actor: &Actor,
        customer_id: i64,
        password: &str,
    ) -> Result<Login, AppError> {
        let customer = customers::find(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        if registration::login_of_customer(self.db.ex(), customer_id)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(format!(
                "{} has a site login already",
                customer.email
            )));
        }
        let login = self
            .create_login(actor, &customer.email, password, RoleKind::User)
            .await?;
        registration::link_login(self.db.ex(), customer_id, login.id, self.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => {
                    AppError::Conflict(format!("{} has a site login already", customer.email))
                }
                e => e.into(),
            })?;
        Ok(login)
    }
}
