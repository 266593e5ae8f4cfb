use crate::{ApiError, WebState};
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts};
use boxoffice_app::auth::{ApiCtx, Principal};
use boxoffice_domain::Permission;

/// A caller authenticated by a bearer token.
pub struct ApiCaller(pub ApiCtx);

impl FromRequestParts<WebState> for ApiCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let State(st): State<WebState> = State(st.clone());
        let Some(secret) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Err(ApiError::unauthorized());
        };
        match st.app.authenticate_api_token(secret.trim()).await? {
            Some(ctx) => Ok(ApiCaller(ctx)),
            None => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "This API token is unknown or was revoked.",
            )),
        }
    }
}

impl ApiCaller {
    pub fn require(&self, p: Permission) -> Result<&ApiCtx, ApiError> {
        self.0.require(p).map_err(ApiError::from)?;
        Ok(&self.0)
    }

    pub fn actor(&self) -> boxoffice_app::audit::Actor {
        boxoffice_app::audit::Actor {
            login_id: Some(self.0.login_id),
            label: format!("{} (API token #{})", self.0.email, self.0.token_id),
            ip: String::new(),
        }
    }
}
