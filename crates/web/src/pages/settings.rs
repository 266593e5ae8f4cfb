//! The Settings pages: an index of the sections and one page per section of the settings
//! registry (`boxoffice_domain::settings`), each setting drawn with the control its kind calls
//! for. A section added to the registry gets its page and its place in the navigation without
//! any template work. A failed save keeps what was typed and names the error under each field.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::{Layout, NavItem};
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::{Principal, SessionCtx};
use boxoffice_app::settings::SettingView;
use boxoffice_domain::Permission;
use boxoffice_domain::settings::{self as registry, Kind, SettingError};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/settings", get(index_page).post(save_any))
        .route(
            "/admin/settings/{section}",
            get(section_page).post(save_section),
        )
}

/// The URL name of a section: lower case, words joined by '-' ("Subscriptions & trials" →
/// "subscriptions-trials").
pub fn slug(section: &str) -> String {
    let mut out = String::new();
    for c in section.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The sections in registry order (the order of their first setting).
pub fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for d in registry::REGISTRY {
        if !out.contains(&d.section) {
            out.push(d.section);
        }
    }
    out
}

fn section_by_slug(s: &str) -> Option<&'static str> {
    sections().into_iter().find(|name| slug(name) == s)
}

/// A line under a section's title. Sections without one are described by their first settings,
/// so a new section reads sensibly before anyone writes its sentence.
fn summary(section: &str) -> String {
    let known = match section {
        "General" => "Site name and address, the administrator's contacts, public pages.",
        "Payments" => "Currency and the recurring payments offered at checkout.",
        "E-mail" => "The SMTP server and sender that every e-mail goes through.",
        "Discord" => "The bot that sends DMs and administrator messages.",
        "Discord integration" => "Roles for active customers, and kicking expired ones.",
        "Registration" => "Who may create a site login, and what they must give.",
        "Payment reminders" => "When pay-as-you-go customers are reminded before expiry.",
        "Subscriptions & trials" => "Whether customers can subscribe and take a free trial.",
        "Media server integration" => {
            "Importing users from your servers and keeping shares in step."
        }
        "Security" => "Session lifetimes, login throttling and e-mailed login codes.",
        "Background jobs" => "What runs on a schedule, and when.",
        "Miscellaneous" => "Plex account changes and the Re-invite yourself button.",
        "Request apps" => "Overseerr, Jellyseerr, Ombi and Petio accounts for customers.",
        "Enforcement" => "Stream, transcoding and device limits, and how they are enforced.",
        "Stripe" => "Card payments and subscriptions through Stripe: keys and webhooks.",
        "PayPal" => {
            "Payments and subscriptions through PayPal: the app's credentials and webhooks."
        }
        "Plisio" => "Cryptocurrency payments through Plisio.",
        "Referrals" => "What a customer earns for bringing a new one.",
        "Custom content" => {
            "The portal's logo, wallpaper, colours and texts: home page sections, pricing, library statistics, FAQ."
        }
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let labels: Vec<&str> = registry::REGISTRY
        .iter()
        .filter(|d| d.section == section)
        .map(|d| d.label)
        .collect();
    match labels.len() {
        0 => String::new(),
        1..=3 => format!("{}.", labels.join(", ")),
        n => format!("{} and {} more.", labels[..2].join(", "), n - 2),
    }
}

/// Currencies offered in the select; the stored one is added when it is not among them.
const CURRENCIES: &[(&str, &str)] = &[
    ("USD", "US dollar"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("CAD", "Canadian dollar"),
    ("AUD", "Australian dollar"),
    ("NZD", "New Zealand dollar"),
    ("CHF", "Swiss franc"),
    ("SEK", "Swedish krona"),
    ("NOK", "Norwegian krone"),
    ("DKK", "Danish krone"),
    ("PLN", "Polish złoty"),
    ("CZK", "Czech koruna"),
    ("BRL", "Brazilian real"),
    ("MXN", "Mexican peso"),
    ("INR", "Indian rupee"),
    ("ZAR", "South African rand"),
    ("SGD", "Singapore dollar"),
    ("HKD", "Hong Kong dollar"),
];

/// How a choice's stored value reads in the select.
fn choice_label(v: &str) -> String {
    match v {
        "starttls" => "STARTTLS".into(),
        "tls" => "TLS".into(),
        _ => {
            let spaced = v.replace('_', " ");
            let mut c = spaced.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One setting as its section page draws it.
pub struct Field {
    pub key: &'static str,
    /// The element id ("f-" and the key with dots as dashes).
    pub id: String,
    pub label: &'static str,
    pub help: &'static str,
    /// switch, number, select, secret, email, url, list, schedule, colour, textarea or text.
    pub control: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub min: String,
    pub max: String,
    pub maxlength: String,
    /// A secret has a stored value.
    pub is_set: bool,
    pub default: &'static str,
    pub error: Option<String>,
}

impl Field {
    fn new(v: &SettingView, typed: Option<&str>, error: Option<String>) -> Option<Field> {
        let def = registry::find(v.key)?;
        let value = match def.kind {
            Kind::Secret => String::new(),
            _ => typed.unwrap_or(&v.value).to_string(),
        };
        let control = match def.kind {
            Kind::Bool => "switch",
            Kind::Int { .. } => "number",
            Kind::Choice(_) | Kind::Currency => "select",
            Kind::Secret => "secret",
            Kind::Email => "email",
            Kind::Url => "url",
            Kind::DayList => "list",
            Kind::Schedule => "schedule",
            Kind::Text { max_len } if max_len > 2_000 => "textarea",
            Kind::Text { .. } => "text",
            Kind::Amount => "amount",
            Kind::Colour => "colour",
        };
        let maxlength = match def.kind {
            Kind::Text { max_len } => max_len.to_string(),
            _ => String::new(),
        };
        let (min, max) = match def.kind {
            Kind::Int { min, max } => (min.to_string(), max.to_string()),
            _ => (String::new(), String::new()),
        };
        let options = match def.kind {
            Kind::Choice(opts) => opts
                .iter()
                .map(|o| Opt {
                    value: o.to_string(),
                    label: choice_label(o),
                    selected: value.eq_ignore_ascii_case(o),
                })
                .collect(),
            Kind::Currency => {
                let current = value.trim().to_ascii_uppercase();
                let mut opts: Vec<Opt> = CURRENCIES
                    .iter()
                    .map(|(code, name)| Opt {
                        value: code.to_string(),
                        label: format!("{code} · {name}"),
                        selected: current == *code,
                    })
                    .collect();
                if !current.is_empty() && !CURRENCIES.iter().any(|(c, _)| *c == current) {
                    opts.insert(
                        0,
                        Opt {
                            value: current.clone(),
                            label: current.clone(),
                            selected: true,
                        },
                    );
                }
                opts
            }
            _ => Vec::new(),
        };
        Some(Field {
            key: v.key,
            id: format!("f-{}", v.key.replace(['.', '_'], "-")),
            label: v.label,
            help: v.help,
            control,
            value,
            options,
            min,
            max,
            maxlength,
            is_set: def.kind == Kind::Secret && !v.is_default,
            default: def.default,
            error,
        })
    }

    pub fn checked(&self) -> bool {
        self.value == "true"
    }
}

pub struct SectionLink {
    pub name: &'static str,
    pub slug: String,
    pub summary: String,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "admin/settings_index.html")]
struct IndexPage {
    layout: Layout,
    sections: Vec<SectionLink>,
    saved: bool,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SectionPage {
    layout: Layout,
    name: &'static str,
    slug: String,
    summary: String,
    fields: Vec<Field>,
    can_write: bool,
    saved: bool,
    /// Each message of a failed save with the field it belongs to ("" when none).
    errors: Vec<(String, String)>,
    /// On Custom content: the logo's address when one is uploaded, and the wallpaper's.
    logo: Option<String>,
    wallpaper: Option<String>,
    /// The upload forms' errors ("upload.logo", "upload.wallpaper").
    upload_errors: Vec<(String, String)>,
}

impl SectionPage {
    fn upload_error(&self, what: &str) -> Option<&str> {
        self.upload_errors
            .iter()
            .find(|(k, _)| k.strip_prefix("upload.") == Some(what))
            .map(|(_, m)| m.as_str())
    }
}

/// Draws a section with the errors of a form posted elsewhere (the uploads on Custom content),
/// answering 422.
pub(crate) async fn section_with_errors(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    name: &'static str,
    errors: Vec<(String, String)>,
) -> Response {
    section_view(st, s, csrf, name, false, &HashMap::new(), errors)
        .await
        .map(|mut r| {
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        })
        .unwrap_or_else(|e| app_error_page(st, e))
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// The settings sections as navigation items under Settings.
fn section_nav(current: Option<&str>) -> Vec<NavItem> {
    sections()
        .into_iter()
        .map(|name| {
            let s = slug(name);
            NavItem {
                active: current == Some(name),
                href: format!("/admin/settings/{s}"),
                label: name.to_string(),
                icon: "",
                children: Vec::new(),
            }
        })
        .collect()
}

async fn layout(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    title: &str,
    current: Option<&str>,
) -> Layout {
    Layout::build(st, title, Some(s), csrf, "settings")
        .await
        .with_children("/admin/settings", section_nav(current))
}

async fn index_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<SavedQuery>,
) -> Response {
    let s = match staff.require(Permission::SettingsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let sections = sections()
        .into_iter()
        .map(|name| SectionLink {
            name,
            slug: slug(name),
            summary: summary(name),
            count: registry::REGISTRY
                .iter()
                .filter(|d| d.section == name)
                .count(),
        })
        .collect();
    let layout = layout(&st, s, &csrf, "Settings", None).await;
    render(&IndexPage {
        layout,
        sections,
        saved: q.saved.is_some(),
    })
}

/// Draws a section with the stored values, or after a failed save with what was typed and the
/// errors.
async fn section_view(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    name: &'static str,
    saved: bool,
    typed: &HashMap<String, String>,
    errors: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let views = st.app.settings().await?.view();
    let fields = views
        .iter()
        .filter(|v| v.section == name)
        .filter_map(|v| {
            let error = errors
                .iter()
                .find(|(k, _)| k == v.key)
                .map(|(_, m)| field_reason(v.key, m));
            Field::new(v, typed.get(v.key).map(String::as_str), error)
        })
        .collect();
    let layout = layout(st, s, csrf, &format!("{name} · Settings"), Some(name)).await;
    let custom = name == "Custom content";
    let (upload_errors, errors): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|(k, _)| k.starts_with("upload."));
    Ok(render(&SectionPage {
        layout,
        name,
        slug: slug(name),
        summary: summary(name),
        fields,
        can_write: s.can(Permission::SettingsWrite),
        saved,
        errors,
        logo: st
            .app
            .logo_version()
            .filter(|_| custom)
            .map(|v| format!("/site/logo.png?v={v}")),
        wallpaper: st
            .app
            .wallpaper_version()
            .filter(|_| custom)
            .map(|v| format!("/site/wallpaper?v={v}")),
        upload_errors,
    }))
}

/// Under the field its label is already shown: keep only the reason.
fn field_reason(key: &str, message: &str) -> String {
    registry::find(key)
        .and_then(|d| message.strip_prefix(&format!("{}: ", d.label)))
        .unwrap_or(message)
        .to_string()
}

async fn section_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(section): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let s = match staff.require(Permission::SettingsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(name) = section_by_slug(&section) else {
        return super::not_found().await;
    };
    section_view(
        &st,
        s,
        &csrf,
        name,
        q.saved.is_some(),
        &HashMap::new(),
        Vec::new(),
    )
    .await
    .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn save_section(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(section): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some(name) = section_by_slug(&section) else {
        return super::not_found().await;
    };
    save(st, staff, ip, csrf, Some(name), form).await
}

/// The form of any section (or of several) posted to /admin/settings; kept for scripts and old
/// bookmarks. Success returns to the index.
async fn save_any(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save(st, staff, ip, csrf, None, form).await
}

async fn save(
    st: WebState,
    staff: Staff,
    ip: String,
    csrf: String,
    section: Option<&'static str>,
    form: Vec<(String, String)>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // A switched-on setting sends its hidden "false" and then "true": the last value wins.
    let mut changes: Vec<(String, String)> = Vec::new();
    for (k, v) in form.into_iter().filter(|(k, _)| k != "csrf") {
        match changes.iter_mut().find(|(ck, _)| *ck == k) {
            Some(c) => c.1 = v,
            None => changes.push((k, v)),
        }
    }
    // Every field is checked first, so each error shows under its own field at once.
    let mut errors: Vec<(String, String)> = Vec::new();
    for (k, v) in &changes {
        if let Err(e) = registry::validate_key(k, v) {
            let key = match &e {
                SettingError::Invalid { key, .. } => key.to_string(),
                SettingError::Unknown { .. } => String::new(),
            };
            errors.push((key, e.to_string()));
        }
    }
    let done = match section {
        Some(name) => format!("/admin/settings/{}?saved=1", slug(name)),
        None => "/admin/settings?saved=1".to_string(),
    };
    if errors.is_empty() {
        let current = match st.app.settings().await {
            Ok(c) => c,
            Err(e) => return app_error_page(&st, e),
        };
        let unchanged = |k: &str, v: &str| {
            registry::find(k).is_some_and(|d| d.kind != Kind::Secret && current.get(k) == v.trim())
        };
        let to_store: Vec<(String, String)> = changes
            .iter()
            .filter(|(k, v)| !unchanged(k, v))
            .cloned()
            .collect();
        match st.app.set_settings(&s.actor(&ip), &to_store).await {
            Ok(()) => return Redirect::to(&done).into_response(),
            Err(AppError::Invalid { message, .. }) => errors.push((String::new(), message)),
            Err(e) => return app_error_page(&st, e),
        }
    }
    // Shown on the page of the section posted, else of the first setting in error.
    let name = section
        .or_else(|| {
            errors
                .iter()
                .find_map(|(k, _)| registry::find(k).map(|d| d.section))
        })
        .or_else(|| {
            changes
                .iter()
                .find_map(|(k, _)| registry::find(k).map(|d| d.section))
        })
        .unwrap_or("General");
    let typed: HashMap<String, String> = changes.into_iter().collect();
    section_view(&st, s, &csrf, name, false, &typed, errors)
        .await
        .map(|mut r| {
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        })
        .unwrap_or_else(|e| app_error_page(&st, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_has_a_distinct_slug_that_finds_it_again() {
        let all = sections();
        let mut slugs: Vec<String> = all.iter().map(|s| slug(s)).collect();
        for (name, s) in all.iter().zip(&slugs) {
            assert_eq!(section_by_slug(s), Some(*name));
            assert!(!s.is_empty() && !s.contains("--"), "{s}");
        }
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), all.len());
        assert_eq!(slug("Subscriptions & trials"), "subscriptions-trials");
        assert_eq!(slug("E-mail"), "e-mail");
    }

    #[test]
    fn a_section_without_a_written_summary_is_described_by_its_settings() {
        assert_eq!(summary("Nowhere"), "");
        assert!(!summary("General").is_empty());
    }
}
