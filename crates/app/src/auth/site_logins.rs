//! The Site logins list, and ending the sessions of a login other than one's own (a lost phone,
//! a member of staff who left, a role just taken away); adding a login, setting its password,
//! changing its role and disabling it.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::{Email, RoleKind, password};
use boxoffice_store::logins::{self, LoginSummary, NewLogin};
use boxoffice_store::{roles, sessions};

/// The most logins one page lists; a search narrows it.
pub const LIST_LIMIT: i64 = 200;

impl App {
    pub async fn site_logins(&self, search: &str) -> Result<Vec<LoginSummary>, AppError> {
        Ok(logins::summaries(self.db.ex(), search, LIST_LIMIT).await?)
    }

    pub async fn site_login(&self, id: i64) -> Result<logins::Login, AppError> {
        logins::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("login"))
    }

    /// Ends every session of a login: its next request goes to the login page. API tokens are
    /// not sessions and stay (revoke them separately). Returns how many ended.
    pub async fn end_sessions_of(&self, actor: &Actor, login_id: i64) -> Result<u64, AppError> {
        let mut tx = self.db.begin().await?;
        let login = logins::find(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        let n = sessions::delete_all_for_login(tx.ex(), login.id).await?;
        self.audit(
            tx.ex(),
            actor,
            "logout.ended_by_staff",
            &login.email,
            &format!("{n} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// What an administrator changes on one login from the Site logins page.
impl App {
    /// The roles a login may be given: the two built-ins and every custom role.
    pub async fn login_roles(&self) -> Result<Vec<roles::Role>, AppError> {
        Ok(roles::list(self.db.ex()).await?)
    }

    /// Adds a login with `role_id`, confirmed (an administrator vouches for the address).
    pub async fn add_site_login(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
        role_id: i64,
    ) -> Result<logins::Login, AppError> {
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        password::check(password).map_err(|e| AppError::invalid("password", e.to_string()))?;
        let role = roles::find(self.db.ex(), role_id)
            .await
            .map_err(|_| AppError::invalid("role", "choose one of the listed roles"))?;
        let hash = self.hash_password(password).await?;
        let mut tx = self.db.begin().await?;
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
                AppError::invalid("email", format!("a login for {email} already exists"))
            } else {
                e.into()
            }
        })?;
        self.audit(tx.ex(), actor, "login.create", email.as_str(), &role.name)
            .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// Sets another login's password (the password rule applies) and ends its sessions, so
    /// whoever held the old one is logged out.
    pub async fn set_site_login_password(
        &self,
        actor: &Actor,
        login_id: i64,
        password: &str,
    ) -> Result<logins::Login, AppError> {
        password::check(password).map_err(|e| AppError::invalid("password", e.to_string()))?;
        let hash = self.hash_password(password).await?;
        let mut tx = self.db.begin().await?;
        let login = logins::find(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        logins::set_password(tx.ex(), login.id, &hash, self.now()).await?;
        let ended = sessions::delete_all_for_login(tx.ex(), login.id).await?;
        self.audit(
            tx.ex(),
            actor,
            "login.set_password",
            &login.email,
            &format!("{ended} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// Gives a login another role, which its open sessions follow from their next request. The
    /// last enabled administrator cannot be given a lesser role.
    pub async fn set_site_login_role(
        &self,
        actor: &Actor,
        login_id: i64,
        role_id: i64,
    ) -> Result<logins::Login, AppError> {
        let mut tx = self.db.begin().await?;
        let login = logins::find(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        let role = roles::find(tx.ex(), role_id)
            .await
            .map_err(|_| AppError::invalid("role", "choose one of the listed roles"))?;
        let old = roles::find(tx.ex(), login.role_id).await?;
        if old.id == role.id {
            return Ok(login);
        }
        if old.kind == RoleKind::Administrator
            && role.kind != RoleKind::Administrator
            && !login.disabled
            && logins::count_administrators(tx.ex()).await? <= 1
        {
            return Err(AppError::Conflict(format!(
                "{} is the last administrator: make another login administrator first",
                login.email
            )));
        }
        logins::set_role(tx.ex(), login.id, role.id).await?;
        self.audit(
            tx.ex(),
            actor,
            "login.set_role",
            &login.email,
            &format!("{} → {}", old.name, role.name),
        )
        .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// Disables a login (it cannot log in, and its sessions and API tokens stop working) or
    /// enables it again. Nobody disables their own login or the last enabled administrator.
    pub async fn set_site_login_disabled(
        &self,
        actor: &Actor,
        own_login_id: i64,
        login_id: i64,
        disabled: bool,
    ) -> Result<logins::Login, AppError> {
        let mut tx = self.db.begin().await?;
        let login = logins::find(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        if login.disabled == disabled {
            return Ok(login);
        }
        if disabled {
            if login.id == own_login_id {
                return Err(AppError::Conflict(
                    "you cannot disable the login you are using".into(),
                ));
            }
            let role = roles::find(tx.ex(), login.role_id).await?;
            if role.kind == RoleKind::Administrator
                && logins::count_administrators(tx.ex()).await? <= 1
            {
                return Err(AppError::Conflict(format!(
                    "{} is the last administrator: it cannot be disabled",
                    login.email
                )));
            }
        }
        logins::set_disabled(tx.ex(), login.id, disabled).await?;
        let ended = if disabled {
            sessions::delete_all_for_login(tx.ex(), login.id).await?
        } else {
            0
        };
        let (action, detail) = if disabled {
            ("login.disable", format!("{ended} sessions ended"))
        } else {
            ("login.enable", String::new())
        };
        self.audit(tx.ex(), actor, action, &login.email, &detail)
            .await?;
        tx.commit().await?;
        Ok(login)
    }
}
