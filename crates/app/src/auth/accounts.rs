use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::{Email, RoleKind, password};
use boxoffice_store::logins::{self, Login, NewLogin};
use boxoffice_store::{roles, sessions};

impl App {
    /// Creates an administrator login (the CLI's `admin create` and the one-time setup page).
    pub async fn create_administrator(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
    ) -> Result<Login, AppError> {
        self.create_login(actor, email, password, RoleKind::Administrator)
            .await
    }

    pub async fn create_login(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
        kind: RoleKind,
    ) -> Result<Login, AppError> {
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        password::check(password).map_err(|e| AppError::invalid("password", e.to_string()))?;
        let hash = self.hash_password(password).await?;
        let mut tx = self.db.begin().await?;
        let role = roles::find_builtin(tx.ex(), kind).await?;
        let login = logins::insert(
            tx.ex(),
            NewLogin {
                email: email.as_str(),
                email_key: &email.normalized(),
                password_hash: &hash,
                role_id: role.id,
                email_confirmed: true,
                now: self.now(),
            },
        )
        .await
        .map_err(|e| {
            if e.is_conflict() {
                AppError::Conflict(format!("a login for {email} already exists"))
            } else {
                e.into()
            }
        })?;
        self.audit(
            tx.ex(),
            actor,
            "login.create",
            email.as_str(),
            role.name.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// Sets a new password and ends every session of that login.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
    ) -> Result<Login, AppError> {
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        password::check(password).map_err(|e| AppError::invalid("password", e.to_string()))?;
        let hash = self.hash_password(password).await?;
        let mut tx = self.db.begin().await?;
        let login = logins::find_by_email_key(tx.ex(), &email.normalized())
            .await
            .map_err(AppError::not_found_as("login"))?;
        logins::set_password(tx.ex(), login.id, &hash, self.now()).await?;
        let ended = sessions::delete_all_for_login(tx.ex(), login.id).await?;
        self.audit(
            tx.ex(),
            actor,
            "login.reset_password",
            email.as_str(),
            &format!("{ended} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(login)
    }

    pub async fn administrator_count(&self) -> Result<i64, AppError> {
        Ok(logins::count_administrators(self.db.ex()).await?)
    }
}
