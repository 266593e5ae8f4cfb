//! API tokens (`Authorization: Bearer …`) and the one-time setup link for the first administrator.

use super::Principal;
use crate::audit::Actor;
use crate::crypto::{random_token, token_hash};
use crate::{App, AppError};
use boxoffice_domain::{Email, Permission};
use boxoffice_store::tokens::{self, ApiToken};
use boxoffice_store::{StoreError, logins, roles};

pub const TOKEN_PREFIX: &str = "bo_";
const SETUP_TTL_SECS: i64 = 60 * 60;

pub struct CreatedToken {
    pub token: ApiToken,
    /// Shown once, never stored.
    pub secret: String,
}

#[derive(Clone, Debug)]
pub struct ApiCtx {
    pub login_id: i64,
    pub email: String,
    pub token_id: i64,
    pub permissions: Vec<Permission>,
}

impl Principal for ApiCtx {
    fn login_id(&self) -> i64 {
        self.login_id
    }
    fn permissions(&self) -> &[Permission] {
        &self.permissions
    }
}

impl App {
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
    ) -> Result<CreatedToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::invalid(
                "name",
                "Give the token a name of 1 to 80 characters, e.g. \"backup script\".",
            ));
        }
        let email = Email::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let secret = format!("{TOKEN_PREFIX}{}", random_token()?);
        let mut tx = self.db.begin().await?;
        let login = logins::find_by_email_key(tx.ex(), &email.normalized())
            .await
            .map_err(AppError::not_found_as("login"))?;
        let token = tokens::insert_api_token(
            tx.ex(),
            login.id,
            name,
            &token_hash(&secret),
            &secret[..TOKEN_PREFIX.len() + 6],
            self.now(),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "api_token.create",
            &format!("{} #{}", login.email, token.id),
            name,
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedToken { token, secret })
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        tokens::revoke_api_token(tx.ex(), id, self.now())
            .await
            .map_err(AppError::not_found_as("active API token"))?;
        self.audit(tx.ex(), actor, "api_token.revoke", &id.to_string(), "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_api_tokens(&self, login_id: Option<i64>) -> Result<Vec<ApiToken>, AppError> {
        Ok(tokens::list_api_tokens(self.db.ex(), login_id).await?)
    }

    /// The login behind a bearer token, with its role's current permissions.
    pub async fn authenticate_api_token(&self, secret: &str) -> Result<Option<ApiCtx>, AppError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let t = match tokens::find_active_api_token(self.db.ex(), &token_hash(secret)).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let login = logins::find(self.db.ex(), t.login_id).await?;
        if login.disabled {
            return Ok(None);
        }
        let role = roles::find(self.db.ex(), login.role_id).await?;
        if t.last_used_at.is_none_or(|u| self.now() - u >= 60) {
            tokens::touch_api_token(self.db.ex(), t.id, self.now()).await?;
        }
        Ok(Some(ApiCtx {
            login_id: login.id,
            email: login.email,
            token_id: t.id,
            permissions: role.permissions,
        }))
    }

    /// When no administrator exists, issues a one-time setup token valid for an hour.
    pub async fn issue_setup_token(&self) -> Result<Option<String>, AppError> {
        if self.administrator_count().await? > 0 {
            return Ok(None);
        }
        let token = random_token()?;
        let now = self.now();
        tokens::insert_email_token(
            self.db.ex(),
            None,
            "setup",
            &token_hash(&token),
            now,
            now + SETUP_TTL_SECS,
        )
        .await?;
        Ok(Some(token))
    }

    pub async fn setup_token_valid(&self, token: &str) -> Result<bool, AppError> {
        match tokens::find_valid_email_token(self.db.ex(), &token_hash(token), "setup", self.now())
            .await
        {
            Ok(_) => Ok(self.administrator_count().await? == 0),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the first administrator through the setup link. The token is spent only when the
    /// login is created, so a weak password can be corrected on the same link.
    pub async fn complete_setup(
        &self,
        token: &str,
        email: &str,
        password: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        if !self.setup_token_valid(token).await? {
            return Err(AppError::Unauthorized("This setup link has expired or was already used. Run `boxoffice serve` again for a new one, or `boxoffice admin create`.".into()));
        }
        let actor = Actor {
            login_id: None,
            label: "setup link".into(),
            ip: ip.to_string(),
        };
        self.create_administrator(&actor, email, password).await?;
        tokens::consume_email_token(self.db.ex(), &token_hash(token), "setup", self.now())
            .await
            .map_err(AppError::not_found_as("setup link"))?;
        Ok(())
    }
}
