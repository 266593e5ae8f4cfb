use crate::{ApiError, WebState};
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts};
use boxoffice_app::auth::{ApiCtx, Principal};
use boxoffice_domain::Permission;
use std::marker::PhantomData;
use std::ops::Deref;

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

/// Permissions as types, so a handler can state what it needs in its signature.
pub trait Needs {
    const PERMISSIONS: &'static [Permission];
}

/// A caller holding every permission `N` names. As an argument before the body it is checked
/// before the body is read: a caller without the permission gets 403, never a complaint about
/// a body it may not send at all.
pub struct Authorized<N: Needs>(pub ApiCaller, PhantomData<N>);

impl<N: Needs> FromRequestParts<WebState> for Authorized<N> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &WebState) -> Result<Self, Self::Rejection> {
        let caller = ApiCaller::from_request_parts(parts, st).await?;
        for p in N::PERMISSIONS {
            caller.require(*p)?;
        }
        Ok(Authorized(caller, PhantomData))
    }
}

impl<N: Needs> Deref for Authorized<N> {
    type Target = ApiCaller;
    fn deref(&self) -> &ApiCaller {
        &self.0
    }
}

macro_rules! needs {
    ($($name:ident => [$($p:ident),+];)*) => {
        $(
            pub struct $name;
            impl Needs for $name {
                const PERMISSIONS: &'static [Permission] = &[$(Permission::$p),+];
            }
        )*
    };
}

/// The permission sets the API's handlers with a body need.
pub mod need {
    use super::Needs;
    use boxoffice_domain::Permission;

    needs! {
        UsersWrite => [UsersWrite];
        UsersAndPaymentsWrite => [UsersWrite, PaymentsWrite];
        UsersAndServersWrite => [UsersWrite, ServersWrite];
        SettingsWrite => [SettingsWrite];
        PlansWrite => [PlansWrite];
        DiscountCodesRead => [DiscountCodesRead];
        DiscountCodesWrite => [DiscountCodesWrite];
        LibraryGroupsWrite => [LibraryGroupsWrite];
        LibrariesWrite => [LibrariesWrite];
        ServersWrite => [ServersWrite];
        ServerLocationsWrite => [ServerLocationsWrite];
        PlexAccountsWrite => [PlexAccountsWrite];
        SiteLoginsWrite => [SiteLoginsWrite];
        PaymentsWrite => [PaymentsWrite];
        UnmatchedPaymentsWrite => [UnmatchedPaymentsWrite];
    }
}
