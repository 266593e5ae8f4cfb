use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, LoggedIn};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use boxoffice_app::AppError;
use boxoffice_app::auth::{Enrolment, SessionCtx};
use boxoffice_app::subscriptions::{CustomerStatus, MySubscription};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    plex: super::plex_change::PortalView,
    /// The customer's referral code, link and credits; `None` for a login without a customer.
    referral: Option<ReferralView>,
    /// The customer's own subscription; `None` for a login without a customer.
    subscription: Option<MySubscription>,
    /// The sub-accounts a master manages (`account_linked.html`); `None` when the plan has none.
    linked: Option<boxoffice_app::subscriptions::MyLinkedUsers>,
    /// "Active", "Expired" or "Permanent", for the subscription's badge.
    status: &'static str,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AccountDone {
    done: Option<String>,
}

fn account_notice(d: Option<&str>) -> Option<&'static str> {
    Some(match d? {
        "plex_changed" => {
            "Your Plex account is changed. An invite to your new Plex account is on its way: accept it in the e-mail from Plex or in the Plex app."
        }
        "reinvited" => {
            "Your invite is being sent again: accept it in the e-mail from Plex or in the Plex app."
        }
        "sub_added" => {
            "The sub-account is added: it is invited to your server while your subscription runs."
        }
        "sub_removed" => "The sub-account is removed.",
        "reinvite_no_capacity" => {
            "No server can take your plan right now: the site's administrator has been told."
        }
        "trial_started" => {
            "Your free trial has started. How to connect is under Your servers; an e-mail with the details is on its way."
        }
        "recurring_cancel" => {
            "Your recurring payment is being cancelled with the payment provider. The time you paid for is kept."
        }
        "password_link" => "A new link to set your password is on its way to your e-mail.",
        _ => return None,
    })
}

/// The referral section: the link to share and what it earned.
struct ReferralView {
    code: String,
    link: String,
    referred: i64,
    bonus: Option<String>,
    credits: Vec<(String, String, &'static str)>,
}

async fn referral_view(st: &WebState, s: &SessionCtx) -> Result<Option<ReferralView>, AppError> {
    let Some(c) = st.app.customer_of_login(s.login_id, &s.email).await? else {
        return Ok(None);
    };
    let r = st.app.referral_summary(c.id).await?;
    Ok(Some(ReferralView {
        code: r.code,
        link: r.link,
        referred: r.referred,
        bonus: r.bonus_enabled.then_some(r.bonus_terms),
        credits: r
            .credits
            .into_iter()
            .map(|c| (super::admin::fmt_time(c.at), c.bonus, c.state))
            .collect(),
    }))
}

pub async fn account_page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let plex = super::plex_change::portal_view(st, s).await?;
    let referral = referral_view(st, s).await?;
    let subscription = st.app.my_subscription(s.login_id, &s.email).await?;
    let status = match subscription.as_ref().map(|m| m.status) {
        Some(CustomerStatus::Active) => "Active",
        Some(CustomerStatus::Permanent) => "Permanent",
        Some(CustomerStatus::Expired) | None => "Expired",
    };
    let linked = super::account_linked::linked_view(st, s).await?;
    let layout = Layout::build(st, "My account", Some(s), csrf, "account").await;
    Ok(render(&AccountPage {
        layout,
        email: s.email.clone(),
        plex,
        referral,
        subscription,
        linked,
        status,
        notice,
        error,
    }))
}

pub async fn home(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<AccountDone>,
) -> Response {
    account_page(&st, &s, &csrf, account_notice(d.done.as_deref()), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: Layout,
    totp_enabled: bool,
    enrolment: Option<Enrolment>,
    recovery_codes: Vec<String>,
    recovery_left: i64,
    notice: Option<String>,
    error: Option<String>,
}

async fn security_page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    recovery_codes: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let totp_enabled = st.app.totp_enabled(s.login_id).await?;
    let enrolment = if totp_enabled {
        None
    } else {
        st.app.pending_enrolment(s).await?
    };
    let recovery_left = if totp_enabled {
        st.app.unused_recovery_codes(s.login_id).await?
    } else {
        0
    };
    let layout = Layout::build(st, "Security", Some(s), csrf, "security").await;
    Ok(render(&SecurityPage {
        layout,
        totp_enabled,
        enrolment,
        recovery_codes,
        recovery_left,
        notice,
        error,
    }))
}

pub async fn security(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    security_page(&st, &s, &csrf, vec![], None, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

pub async fn totp_start(State(st): State<WebState>, LoggedIn(s): LoggedIn) -> Response {
    match st.app.begin_totp_enrolment(&s).await {
        Ok(_) | Err(AppError::Conflict(_)) => Redirect::to("/security").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp_confirm(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<CodeForm>,
) -> Response {
    let result = match st.app.confirm_totp(&s, &f.code, &ip).await {
        Ok(codes) => {
            security_page(
                &st,
                &s,
                &csrf,
                codes,
                Some("Two-factor authentication is on.".into()),
                None,
            )
            .await
        }
        Err(AppError::Invalid { message, .. }) => {
            security_page(&st, &s, &csrf, vec![], None, Some(message))
                .await
                .map(|mut r| {
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                })
        }
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| app_error_page(&st, e))
}

pub async fn totp_disable(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
) -> Response {
    match st.app.disable_totp(&s, &ip).await {
        Ok(()) => Redirect::to("/security").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
