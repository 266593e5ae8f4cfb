//! What every page's frame needs: title, the navigation the login may see, the CSRF token.

use crate::WebState;
use crate::pages::admin::SECTIONS;
use boxoffice_app::auth::{Principal, SessionCtx};

pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub active: bool,
}

pub struct NavGroup {
    pub label: &'static str,
    pub items: Vec<NavItem>,
}

pub struct Layout {
    pub title: String,
    pub site_name: String,
    pub email: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavGroup>,
    pub demo: bool,
    /// Names the page for styling and for browser tests to wait on.
    pub page: String,
}

pub const GROUPS: &[&str] = &[
    "Users",
    "Payments & Plans",
    "Servers & Libraries",
    "Activity",
    "System",
];

impl Layout {
    pub async fn build(
        state: &WebState,
        title: &str,
        session: Option<&SessionCtx>,
        csrf: &str,
        active: &str,
    ) -> Self {
        let site_name = match state.app.settings().await {
            Ok(s) => s.get("general.site_name").to_string(),
            Err(_) => "boxoffice".to_string(),
        };
        let mut nav = Vec::new();
        if let Some(s) = session.filter(|s| !s.mfa_pending) {
            if s.is_staff() {
                nav.push(NavGroup {
                    label: "Overview",
                    items: vec![NavItem {
                        href: "/admin".into(),
                        label: "Dashboard",
                        active: active == "dashboard",
                    }],
                });
                for g in GROUPS {
                    let items: Vec<NavItem> = SECTIONS
                        .iter()
                        .filter(|sec| sec.group == *g && s.can(sec.permission))
                        .map(|sec| NavItem {
                            href: format!("/admin/{}", sec.slug),
                            label: sec.title,
                            active: active == sec.slug,
                        })
                        .collect();
                    if !items.is_empty() {
                        nav.push(NavGroup { label: g, items });
                    }
                }
            } else {
                nav.push(NavGroup {
                    label: "Account",
                    items: vec![NavItem {
                        href: "/account".into(),
                        label: "My account",
                        active: active == "account",
                    }],
                });
            }
        }
        Layout {
            title: title.to_string(),
            site_name,
            email: session.filter(|s| !s.mfa_pending).map(|s| s.email.clone()),
            csrf: csrf.to_string(),
            nav,
            demo: state.opts.demo,
            page: active.to_string(),
        }
    }
}
