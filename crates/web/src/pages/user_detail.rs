//! One customer (product §3.2, operations §6.6/§6.7): identities, class, notes, derived status and
//! expiry, payments with their credit notes, shares per server with their state and last error,
//! admin events; and the forms that call the lifecycle use cases (edit, renew, change plan,
//! cancel, delete). Media work happens in jobs, so every form answers at once.

use super::form::{self, Fields, failure_status, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_app::plans::parse_cost;
use boxoffice_app::subscriptions::{CustomerEdit, CustomerStatus, RenewInput};
use boxoffice_domain::Money;
use boxoffice_domain::Permission;
use boxoffice_domain::money::Currency;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/users/{id}", get(detail_page))
        .route("/admin/users/{id}/profile", post(save_profile))
        .route("/admin/users/{id}/renew", post(renew))
        .route("/admin/users/{id}/plan", post(change_plan))
        .route("/admin/users/{id}/cancel", post(cancel))
        .route("/admin/users/{id}/delete", post(delete))
        .route("/admin/users/{id}/discord", post(save_discord))
        .route(
            "/admin/users/{id}/shares/{share}/resend-invite",
            post(resend_invite),
        )
        .route(
            "/admin/users/{id}/request-apps/sync",
            post(sync_request_apps),
        )
}

fn time(t: i64) -> String {
    super::admin::fmt_time(t)
}

fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

pub struct PaymentLine {
    pub from: String,
    pub to: String,
    pub plan: String,
    pub amount: String,
    /// What refunds and chargebacks gave back of it, when anything was.
    pub refunded: Option<String>,
    pub method: String,
    pub transaction_id: String,
    pub notes: String,
}

/// A recurring subscription at a gateway and its state.
pub struct RecurringLine {
    pub provider: String,
    pub subscription_id: String,
    /// active, past due or cancelled.
    pub state: String,
    pub period_end: String,
    pub cancel_at_period_end: bool,
}

pub struct ShareLine {
    pub id: i64,
    pub server: String,
    pub state: String,
    pub applied: bool,
    pub last_error: String,
}

/// The customer's Discord side: ID, roles held through the integration, kick, last error.
pub struct DiscordLine {
    pub discord_id: String,
    pub roles: String,
    pub kicked: String,
    pub last_error: String,
    pub synced: String,
}

pub struct RequestAppLine {
    pub app: String,
    pub username: String,
    pub state: String,
    pub last_error: String,
    pub updated: String,
}

pub struct EventLine {
    pub at: String,
    pub kind: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct DetailPage {
    layout: Layout,
    id: i64,
    email: String,
    display_name: String,
    plex_email: String,
    plex_username: String,
    jellyfin_username: String,
    emby_username: String,
    paypal_email: String,
    notes: String,
    permanent: bool,
    status: &'static str,
    expiry: String,
    plan_id: Option<i64>,
    plan: String,
    deleting: bool,
    /// Flagged: must give a new Plex account before being invited again (operations §4.3).
    requires_plex_change: bool,
    /// "Paid, waiting for a server since …: why" while no server has room for the plan.
    waiting_for_server: Option<String>,
    /// Empty, with the section left out, for a role without `payments.read`.
    payments: Vec<PaymentLine>,
    recurring: Vec<RecurringLine>,
    can_see_payments: bool,
    shares: Vec<ShareLine>,
    events: Vec<EventLine>,
    discord: DiscordLine,
    request_apps: Vec<RequestAppLine>,
    request_apps_enabled: bool,
    plans: Vec<(i64, String)>,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
    /// A key rendered into the payment form: a resubmitted form (a double click, a reload)
    /// gets the same transaction id and is replayed instead of recording a second payment.
    form_key: String,
    /// The latest notifications about this customer; `None` when the role may not read the log.
    notifications: Option<Vec<super::notifications::LogLine>>,
}

impl DetailPage {
    fn is_plan(&self, id: &i64) -> bool {
        self.plan_id == Some(*id)
    }
}

#[derive(serde::Deserialize, Default)]
struct Done {
    done: Option<String>,
}

/// The confirmation after a redirect, by code, so no free text travels in the URL.
fn done_message(d: Option<&str>) -> Option<String> {
    Some(
        match d? {
            "saved" => "Saved. Identity changes are applied to the servers in the background.",
            "renewed" => "Payment recorded; the share is being applied in the background.",
            "renewed_waiting_for_server" => {
                "Payment recorded, but no server has room for the plan: the customer is paid, waiting for a server, and is invited as soon as one has room."
            }
            "renewed_awaiting_plex_change" => {
                "Payment recorded. Not invited to Plex: this customer must change their Plex account first, and is invited when they do."
            }
            "cancelled" => "Cancelled: coverage ends now; the next expiry pass removes access.",
            "plex_flagged" => "Flagged: the user must give a new Plex account on My Account.",
            "plex_unflagged" => "The Plex account change is no longer required.",
            "discord" => {
                "Discord ID saved; roles follow in the background when Discord sync is on."
            }
            "request_apps" => {
                "Request-app sync queued: the accounts are brought in line in the background."
            }
            "created" => "Customer created; the invite is sent to the server in the background.",
            "invite_resent" => {
                "The invite is on its way again; on Jellyfin and Emby it carries a new password link, and older links stop working."
            }
            _ => return None,
        }
        .to_string(),
    )
}

async fn view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let d = st.app.customer_detail(id).await?;
    let plans = st.app.user_plan_options().await?;
    let servers = st.app.list_servers().await?;
    let plan_name = |pid: i64| {
        plans
            .iter()
            .find(|(id, _)| *id == pid)
            .map_or_else(|| format!("#{pid}"), |(_, n)| n.clone())
    };
    let dc = st.app.customer_discord_state(id).await?;
    let c = &d.customer;
    let notifications = if staff.0.can(Permission::SettingsRead) {
        let filter = boxoffice_store::notifications::LogFilter {
            customer_id: Some(c.id),
            limit: 10,
            ..Default::default()
        };
        let rows = st.app.notification_log(&filter).await?;
        Some(rows.into_iter().map(Into::into).collect())
    } else {
        None
    };
    let layout = Layout::build(st, &c.email, Some(&staff.0), csrf, "users").await;
    let form_key = boxoffice_app::crypto::random_token()?;
    let request_apps = st
        .app
        .customer_request_apps(id)
        .await?
        .into_iter()
        .map(|a| RequestAppLine {
            app: a.label,
            username: a.username,
            state: a.state,
            last_error: a.last_error,
            updated: time(a.updated_at),
        })
        .collect();
    let request_apps_enabled = st.app.request_apps_enabled().await?;
    Ok(render(&DetailPage {
        form_key,
        id: c.id,
        email: c.email.clone(),
        display_name: c.display_name.clone(),
        plex_email: c.plex_email.clone(),
        plex_username: d.plex_username.clone(),
        jellyfin_username: c.jellyfin_username.clone(),
        emby_username: c.emby_username.clone(),
        paypal_email: c.paypal_email.clone(),
        notes: c.notes.clone(),
        permanent: c.permanent,
        status: match d.status {
            CustomerStatus::Permanent => "permanent",
            CustomerStatus::Active => "active",
            CustomerStatus::Expired => "expired",
        },
        expiry: c.covered_until.map(time).unwrap_or_default(),
        plan_id: c.plan_id,
        plan: c.plan_id.map(plan_name).unwrap_or_default(),
        deleting: c.deleting_at.is_some(),
        requires_plex_change: st.app.requires_plex_account_change(c.id).await?,
        waiting_for_server: d
            .waiting_for_server
            .as_ref()
            .map(|w| format!("since {} ({})", time(w.since), w.message)),
        can_see_payments: staff.0.can(Permission::PaymentsRead),
        payments: d
            .payments
            .iter()
            .filter(|_| staff.0.can(Permission::PaymentsRead))
            .map(|p| PaymentLine {
                from: time(p.period_from),
                to: time(p.period_to),
                plan: plan_name(p.plan_id),
                amount: money(p.amount_minor, &p.currency),
                refunded: (p.refunded_minor > 0).then(|| money(p.refunded_minor, &p.currency)),
                method: p.method.clone(),
                transaction_id: p.transaction_id.clone(),
                notes: p.notes.clone(),
            })
            .collect(),
        recurring: d
            .gateway_subscriptions
            .iter()
            .filter(|_| staff.0.can(Permission::PaymentsRead))
            .map(|g| RecurringLine {
                provider: boxoffice_app::payments::Provider::parse(&g.provider)
                    .map_or_else(|| g.provider.clone(), |p| p.label().to_string()),
                subscription_id: g.subscription_id.clone(),
                state: g.state.replace('_', " "),
                period_end: g.current_period_end.map(time).unwrap_or_default(),
                cancel_at_period_end: g.cancel_at_period_end,
            })
            .collect(),
        shares: d
            .shares
            .iter()
            .map(|s| ShareLine {
                id: s.id,
                server: servers
                    .iter()
                    .find(|v| v.id == s.server_id)
                    .map_or_else(|| format!("#{}", s.server_id), |v| v.name.clone()),
                state: s.state.clone(),
                applied: s.is_applied(),
                last_error: s.last_error.clone().unwrap_or_default(),
            })
            .collect(),
        events: d
            .events
            .iter()
            .map(|e| EventLine {
                at: time(e.at),
                kind: e.kind.clone(),
                message: e.message.clone(),
            })
            .collect(),
        discord: DiscordLine {
            roles: dc.roles.join(", "),
            kicked: dc.kicked_at.map(time).unwrap_or_default(),
            synced: dc.synced_at.map(time).unwrap_or_default(),
            discord_id: dc.discord_id,
            last_error: dc.last_error,
        },
        request_apps,
        request_apps_enabled,
        plans,
        notifications,
        can_write: staff.0.can(Permission::UsersWrite),
        message,
        error,
        layout,
    }))
}

async fn detail_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersRead) {
        return r;
    }
    view(
        &st,
        &staff,
        &csrf,
        id,
        done_message(d.done.as_deref()),
        None,
    )
    .await
    .unwrap_or_else(|e| app_error_page(&st, e))
}

/// After a form: redirect on success; show the page again with the reason on the caller's mistake.
async fn finish(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    result: Result<Response, AppError>,
) -> Response {
    match result {
        Ok(r) => r,
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = failure_status(&e);
            view(st, staff, csrf, id, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

fn opt_text(f: &Fields, k: &str) -> Option<String> {
    f.iter().any(|(key, _)| key == k).then(|| form::text(f, k))
}

async fn save_profile(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let edit = CustomerEdit {
        email: opt_text(&f, "email"),
        display_name: opt_text(&f, "display_name"),
        plex_email: opt_text(&f, "plex_email"),
        plex_username: opt_text(&f, "plex_username"),
        jellyfin_username: opt_text(&f, "jellyfin_username"),
        emby_username: opt_text(&f, "emby_username"),
        paypal_email: opt_text(&f, "paypal_email"),
        notes: opt_text(&f, "notes"),
        // A checkbox posts only when ticked, so absence means standard.
        permanent: Some(form::flag(&f, "permanent")),
    };
    let r = st
        .app
        .edit_customer(&s.actor(&ip), id, &edit)
        .await
        .map(|_| Redirect::to(&format!("/admin/users/{id}?done=saved")).into_response());
    finish(&st, &staff, &csrf, id, r).await
}

/// Sends a share's invite notice again (a customer lost it, or their password link expired).
async fn resend_invite(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path((id, share)): Path<(i64, i64)>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .resend_invite(&s.actor(&ip), id, share)
        .await
        .map(|_| Redirect::to(&format!("/admin/users/{id}?done=invite_resent")).into_response());
    finish(&st, &staff, &csrf, id, r).await
}

async fn save_discord(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .set_customer_discord_id(&s.actor(&ip), id, &form::text(&f, "discord_id"))
        .await
        .map(|()| Redirect::to(&format!("/admin/users/{id}?done=discord")).into_response());
    finish(&st, &staff, &csrf, id, r).await
}

fn renew_input(f: &Fields) -> Result<RenewInput, AppError> {
    let plan_id = match form::text(f, "plan_id").as_str() {
        "" => None,
        v => Some(
            v.parse()
                .map_err(|_| AppError::invalid("plan_id", "Choose a plan from the list."))?,
        ),
    };
    let quantity = match form::text(f, "quantity").as_str() {
        "" => None,
        v => Some(
            v.parse()
                .map_err(|_| AppError::invalid("quantity", "Quantity is a whole number."))?,
        ),
    };
    let amount_minor = match form::text(f, "amount").as_str() {
        "" => None,
        v => Some(parse_cost(v).map_err(|_| {
            AppError::invalid("amount_minor", "The amount is a number such as 8.00.")
        })?),
    };
    Ok(RenewInput {
        plan_id,
        quantity,
        amount_minor,
        transaction_id: opt_text(f, "transaction_id")
            .filter(|t| !t.is_empty())
            .or_else(|| {
                opt_text(f, "form_key")
                    .filter(|k| !k.is_empty())
                    .map(|k| format!("manual-{k}"))
            }),
        sequence: None,
        ..RenewInput::default()
    })
}

async fn renew(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = staff.require(Permission::PaymentsWrite) {
        return r;
    }
    let r = async {
        let input = renew_input(&f)?;
        let out = st.app.renew(&s.actor(&ip), id, input).await?;
        let done = if out.awaiting_plex_change.is_some() {
            "renewed_awaiting_plex_change"
        } else if out.no_capacity.is_some() {
            "renewed_waiting_for_server"
        } else {
            "renewed"
        };
        Ok(Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response())
    }
    .await;
    finish(&st, &staff, &csrf, id, r).await
}

async fn change_plan(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = staff.require(Permission::PaymentsWrite) {
        return r;
    }
    let r = async {
        let plan = form::int(&f, "plan_id")
            .ok_or_else(|| AppError::invalid("plan_id", "Choose a plan from the list."))?;
        let done = st.app.change_plan(&s.actor(&ip), id, plan).await?;
        // The credit note is shown at once (it is also kept on the payments below).
        let mut msg = format!("Plan changed. {}", done.note);
        if let Some(n) = done.no_capacity {
            msg.push_str(&format!(" {n}"));
        }
        view(&st, &staff, &csrf, id, Some(msg), None).await
    }
    .await;
    finish(&st, &staff, &csrf, id, r).await
}

async fn cancel(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .cancel_subscription(&s.actor(&ip), id)
        .await
        .map(|()| Redirect::to(&format!("/admin/users/{id}?done=cancelled")).into_response());
    finish(&st, &staff, &csrf, id, r).await
}

async fn delete(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = async {
        // Deleting cannot be undone: the form must be confirmed explicitly.
        if !form::flag(&f, "confirm") {
            return Err(AppError::invalid(
                "confirm",
                "Tick the box to confirm deleting this user.",
            ));
        }
        st.app.delete_customer(&s.actor(&ip), id).await?;
        Ok(Redirect::to("/admin/users?done=deleted").into_response())
    }
    .await;
    finish(&st, &staff, &csrf, id, r).await
}

async fn sync_request_apps(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .request_app_sync_now(&s.actor(&ip), id)
        .await
        .map(|()| Redirect::to(&format!("/admin/users/{id}?done=request_apps")).into_response());
    finish(&st, &staff, &csrf, id, r).await
}
