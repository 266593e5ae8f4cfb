//! Discount codes over the JSON API (product §16): list, read, add, replace, deactivate and
//! reactivate, and the quote a checkout would show. A refused field is 422 naming it. Documented
//! in its own OpenAPI fragment, merged into the served document.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use boxoffice_app::discounts::{DiscountCodeInput, DiscountCodeView};
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(list, get_one, create, update, deactivate, activate, quote),
    components(schemas(DiscountCodeOut, DiscountCodeIn, QuoteIn, QuoteOut, RefusalOut))
)]
pub struct DiscountsDoc;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/discount-codes", get(list).post(create))
        .route("/discount-codes/quote", post(quote))
        .route("/discount-codes/{id}", get(get_one).put(update))
        .route("/discount-codes/{id}/deactivate", post(deactivate))
        .route("/discount-codes/{id}/activate", post(activate))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DiscountCodeOut {
    pub id: i64,
    /// Upper case; matched without regard to case.
    pub code: String,
    pub description: String,
    /// Whole percent off, or null when the code takes an amount off.
    pub percent_off: Option<i64>,
    /// Minor units of `currency` off, or null when the code takes a percentage off.
    pub amount_off_minor: Option<i64>,
    /// The currency of `amount_off_minor`; empty for a percentage.
    pub currency: String,
    /// Only this customer may use the code (once); empty = anyone.
    pub customer_email: String,
    /// Plans the code applies to; empty = every plan.
    pub plan_ids: Vec<i64>,
    /// Unix seconds from which the code no longer works; null = never.
    pub expires_at: Option<i64>,
    /// Uses allowed in total as set; null = unlimited.
    pub max_uses: Option<i64>,
    /// Uses allowed in total, counting a customer-bound code as single-use; null = unlimited.
    pub use_limit: Option<i64>,
    pub used_count: i64,
    pub once_per_customer: bool,
    pub active: bool,
    /// `usable`, `inactive`, `expired` or `used_up`.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<DiscountCodeView> for DiscountCodeOut {
    fn from(v: DiscountCodeView) -> Self {
        let c = v.record.code;
        DiscountCodeOut {
            id: c.id,
            code: c.code,
            description: c.description,
            percent_off: c.percent_off,
            amount_off_minor: c.amount_off_minor,
            currency: c.currency,
            customer_email: c.customer_email,
            plan_ids: v.record.plan_ids,
            expires_at: c.expires_at,
            max_uses: c.max_uses,
            use_limit: v.rule.use_limit().map(i64::from),
            used_count: c.used_count,
            once_per_customer: c.once_per_customer,
            active: c.active,
            state: v.state.as_str().to_string(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn yes() -> bool {
    true
}

/// A whole code. Give exactly one of `percent_off` and `amount_off_minor` (in the site currency).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DiscountCodeIn {
    pub code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub percent_off: Option<i64>,
    #[serde(default)]
    pub amount_off_minor: Option<i64>,
    #[serde(default)]
    pub customer_email: String,
    #[serde(default)]
    pub plan_ids: Vec<i64>,
    /// Unix seconds; null = never.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// null = unlimited.
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default = "yes")]
    pub once_per_customer: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

impl From<DiscountCodeIn> for DiscountCodeInput {
    fn from(b: DiscountCodeIn) -> Self {
        DiscountCodeInput {
            code: b.code,
            description: b.description,
            percent_off: b.percent_off,
            amount_off_minor: b.amount_off_minor,
            customer_email: b.customer_email,
            plan_ids: b.plan_ids,
            expires_at: b.expires_at,
            max_uses: b.max_uses,
            once_per_customer: b.once_per_customer,
            active: b.active,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct QuoteIn {
    pub customer_id: i64,
    pub plan_id: i64,
    pub code: String,
    /// A recurring (subscription) checkout, which codes never discount.
    #[serde(default)]
    pub recurring: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefusalOut {
    /// `unknown`, `inactive`, `expired`, `used_up`, `not_your_code`, `not_for_plan`,
    /// `already_used`, `recurring`, `wrong_currency`, `amount_not_below_price` or `would_be_free`.
    pub code: String,
    /// The sentence the customer reads.
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteOut {
    pub applies: bool,
    /// Set when the code does not apply.
    pub refusal: Option<RefusalOut>,
    pub code_id: Option<i64>,
    /// One period of the plan, in minor units of `currency`.
    pub price_minor: Option<i64>,
    pub discount_minor: Option<i64>,
    pub to_pay_minor: Option<i64>,
    pub currency: Option<String>,
}

/// Every discount code, newest first.
#[utoipa::path(get, path = "/api/v1/discount-codes", responses((status = 200, body = [DiscountCodeOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<DiscountCodeOut>>, ApiError> {
    caller.require(Permission::DiscountCodesRead)?;
    let codes = st.app.list_discount_codes().await?;
    Ok(Json(codes.into_iter().map(Into::into).collect()))
}

/// One discount code.
#[utoipa::path(get, path = "/api/v1/discount-codes/{id}", params(("id" = i64, Path, description = "Discount code id")), responses((status = 200, body = DiscountCodeOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<DiscountCodeOut>, ApiError> {
    caller.require(Permission::DiscountCodesRead)?;
    Ok(Json(st.app.discount_code(id).await?.into()))
}

/// Adds a discount code.
#[utoipa::path(post, path = "/api/v1/discount-codes", request_body = DiscountCodeIn, responses((status = 201, body = DiscountCodeOut), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<WebState>,
    caller: Authorized<need::DiscountCodesWrite>,
    Json(body): Json<DiscountCodeIn>,
) -> Result<(StatusCode, Json<DiscountCodeOut>), ApiError> {
    let id = st
        .app
        .save_discount_code(&caller.actor(), None, &body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(st.app.discount_code(id).await?.into()),
    ))
}

/// Replaces a discount code with the values sent; its use count is kept.
#[utoipa::path(put, path = "/api/v1/discount-codes/{id}", params(("id" = i64, Path, description = "Discount code id")), request_body = DiscountCodeIn, responses((status = 200, body = DiscountCodeOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: Authorized<need::DiscountCodesWrite>,
    Path(id): Path<i64>,
    Json(body): Json<DiscountCodeIn>,
) -> Result<Json<DiscountCodeOut>, ApiError> {
    st.app
        .save_discount_code(&caller.actor(), Some(id), &body.into())
        .await?;
    Ok(Json(st.app.discount_code(id).await?.into()))
}

/// Deactivates a code: it is refused from now on and its uses stay on record.
#[utoipa::path(post, path = "/api/v1/discount-codes/{id}/deactivate", params(("id" = i64, Path, description = "Discount code id")), responses((status = 200, body = DiscountCodeOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn deactivate(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<DiscountCodeOut>, ApiError> {
    caller.require(Permission::DiscountCodesWrite)?;
    st.app
        .set_discount_code_active(&caller.actor(), id, false)
        .await?;
    Ok(Json(st.app.discount_code(id).await?.into()))
}

/// Makes a deactivated code usable again.
#[utoipa::path(post, path = "/api/v1/discount-codes/{id}/activate", params(("id" = i64, Path, description = "Discount code id")), responses((status = 200, body = DiscountCodeOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<DiscountCodeOut>, ApiError> {
    caller.require(Permission::DiscountCodesWrite)?;
    st.app
        .set_discount_code_active(&caller.actor(), id, true)
        .await?;
    Ok(Json(st.app.discount_code(id).await?.into()))
}

/// What a code does to one period of a plan for one customer, as checkout would show it. A code
/// that does not apply is still a 200, with `applies: false` and the refusal; nothing is recorded.
#[utoipa::path(post, path = "/api/v1/discount-codes/quote", request_body = QuoteIn, responses((status = 200, body = QuoteOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn quote(
    State(st): State<WebState>,
    _caller: Authorized<need::DiscountCodesRead>,
    Json(b): Json<QuoteIn>,
) -> Result<Json<QuoteOut>, ApiError> {
    let q = st
        .app
        .quote_discount(b.customer_id, b.plan_id, &b.code, b.recurring)
        .await?;
    Ok(Json(match q {
        Ok(q) => QuoteOut {
            applies: true,
            refusal: None,
            code_id: Some(q.code_id),
            price_minor: Some(q.price.minor),
            discount_minor: Some(q.discount.minor),
            to_pay_minor: Some(q.to_pay.minor),
            currency: Some(q.price.currency.to_string()),
        },
        Err(r) => QuoteOut {
            applies: false,
            refusal: Some(RefusalOut {
                code: r.code().to_string(),
                message: r.to_string(),
            }),
            code_id: None,
            price_minor: None,
            discount_minor: None,
            to_pay_minor: None,
            currency: None,
        },
    }))
}
