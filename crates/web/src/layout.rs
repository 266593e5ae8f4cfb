//! What every page's frame needs: title, the navigation the login may see, the CSRF token.
//!
//! Staff see the admin shell: a sidebar grouped as [`GROUPS`] lists the [`SECTIONS`] their role may
//! open (a drawer on a phone). Customers and visitors get the plain frame: a top bar only.

use crate::WebState;
use crate::pages::admin::SECTIONS;
use boxoffice_app::auth::{Principal, SessionCtx};

pub struct NavItem {
    pub href: String,
    pub label: String,
    pub active: bool,
    /// Inline SVG markup from [`icon`] (our own constant text, never user input).
    pub icon: &'static str,
    /// Shown under the item while it is the current page (the settings sections).
    pub children: Vec<NavItem>,
}

impl NavItem {
    /// The `aria-current` value: "page" for the page shown, "true" for the parent of the shown
    /// page, "" otherwise.
    pub fn current(&self) -> &'static str {
        if !self.active {
            ""
        } else if self.children.iter().any(|c| c.active) {
            "true"
        } else {
            "page"
        }
    }
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
    /// A staff login: the page is drawn in the admin shell with its sidebar.
    pub staff: bool,
    /// The owner's logo, theme and custom CSS, and whether the FAQ has text.
    pub look: boxoffice_app::content::SiteLook,
}

pub const GROUPS: &[&str] = &[
    "Users",
    "Payments & Plans",
    "Servers & Libraries",
    "Activity",
    "System",
];

/// 24×24 stroke icons drawn for boxoffice, inlined so no page loads anything from elsewhere.
macro_rules! icon_svg {
    ($body:literal) => {
        concat!(
            r#"<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">"#,
            $body,
            "</svg>"
        )
    };
}

pub const ICON_MENU: &str = icon_svg!(r#"<path d="M4 6h16M4 12h16M4 18h16"/>"#);
pub const ICON_CLOSE: &str = icon_svg!(r#"<path d="M6 6l12 12M18 6L6 18"/>"#);
pub const ICON_BRAND: &str = icon_svg!(
    r#"<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M10 9.5v5l4.5-2.5z" fill="currentColor"/>"#
);
pub const ICON_MOON: &str =
    icon_svg!(r#"<path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z"/>"#);
pub const ICON_SUN: &str = icon_svg!(
    r#"<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>"#
);
pub const ICON_LOGOUT: &str =
    icon_svg!(r#"<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l-5-5 5-5M5 12h11"/>"#);
pub const ICON_SHIELD: &str =
    icon_svg!(r#"<path d="M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z"/>"#);

/// The icon of an admin page, by its slug; a neutral dot for a page that has none yet.
pub fn icon(slug: &str) -> &'static str {
    match slug {
        "dashboard" => icon_svg!(
            r#"<rect x="3" y="3" width="7" height="9" rx="1.5"/><rect x="14" y="3" width="7" height="5" rx="1.5"/><rect x="14" y="12" width="7" height="9" rx="1.5"/><rect x="3" y="16" width="7" height="5" rx="1.5"/>"#
        ),
        "users" => icon_svg!(
            r#"<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c.8-3.5 3.4-5.5 6.5-5.5s5.7 2 6.5 5.5"/><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14.8c1.9.7 3.1 2.5 3.5 5.2"/>"#
        ),
        "site-logins" => icon_svg!(
            r#"<rect x="4" y="10" width="16" height="11" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/>"#
        ),
        "linked-users" => icon_svg!(
            r#"<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>"#
        ),
        "roles" => ICON_SHIELD,
        "payments" => icon_svg!(
            r#"<rect x="2.5" y="5" width="19" height="14" rx="2"/><path d="M2.5 10h19M6.5 15h4"/>"#
        ),
        "unmatched-payments" => icon_svg!(
            r#"<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6v.6M12 17h.01"/>"#
        ),
        "plans" => {
            icon_svg!(r#"<path d="M4 7l8-4 8 4-8 4z"/><path d="M4 12l8 4 8-4M4 17l8 4 8-4"/>"#)
        }
        "discount-codes" => {
            icon_svg!(r#"<path d="M3 12V4h8l10 10-8 8z"/><circle cx="7.5" cy="8.5" r="1.5"/>"#)
        }
        "servers" => icon_svg!(
            r#"<rect x="3" y="4" width="18" height="7" rx="1.5"/><rect x="3" y="13" width="18" height="7" rx="1.5"/><path d="M7 7.5h.01M7 16.5h.01"/>"#
        ),
        "server-locations" => icon_svg!(
            r#"<path d="M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>"#
        ),
        "libraries" => {
            icon_svg!(r#"<path d="M4 4h4v16H4zM10 4h4v16h-4zM15 5.2l3.8-1.2 3.7 15-3.8 1.2z"/>"#)
        }
        "library-groups" => icon_svg!(
            r#"<rect x="3" y="3" width="8" height="8" rx="1.5"/><rect x="13" y="3" width="8" height="8" rx="1.5"/><rect x="3" y="13" width="8" height="8" rx="1.5"/><rect x="13" y="13" width="8" height="8" rx="1.5"/>"#
        ),
        "shared-servers" => icon_svg!(
            r#"<path d="M4 12a8 8 0 0 1 14-5.3M20 12a8 8 0 0 1-14 5.3"/><path d="M18 3v4h-4M6 21v-4h4"/>"#
        ),
        "plex-accounts" => icon_svg!(r#"<circle cx="12" cy="12" r="9"/><path d="M10 8l4 4-4 4"/>"#),
        "self-test" => icon_svg!(
            r#"<path d="M9 3h6M10 3v6l-5 9a2 2 0 0 0 1.8 3h10.4a2 2 0 0 0 1.8-3l-5-9V3"/><path d="M7.5 15h9"/>"#
        ),
        "devices" => icon_svg!(
            r#"<rect x="2" y="4" width="14" height="10" rx="1.5"/><path d="M6 18h6M9 14v4"/><rect x="17" y="8" width="5" height="12" rx="1"/>"#
        ),
        "activity" => icon_svg!(r#"<path d="M3 12h4l3-8 4 16 3-8h4"/>"#),
        "settings" => icon_svg!(
            r#"<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/><circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>"#
        ),
        "notifications" => icon_svg!(
            r#"<path d="M6 9a6 6 0 0 1 12 0c0 6 2.5 7.5 2.5 7.5h-17S6 15 6 9z"/><path d="M10 20a2 2 0 0 0 4 0"/>"#
        ),
        "jobs" => icon_svg!(r#"<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>"#),
        "audit" => icon_svg!(r#"<path d="M6 3h9l4 4v14H6z"/><path d="M14 3v5h5M9 12h7M9 16h7"/>"#),
        "account" => {
            icon_svg!(r#"<circle cx="12" cy="8" r="4"/><path d="M4 21c1-4 4-6 8-6s7 2 8 6"/>"#)
        }
        _ => icon_svg!(r#"<circle cx="12" cy="12" r="3"/>"#),
    }
}

impl Layout {
    pub async fn build(
        state: &WebState,
        title: &str,
        session: Option<&SessionCtx>,
        csrf: &str,
        active: &str,
    ) -> Self {
        let (site_name, look) = match state.app.settings().await {
            Ok(s) => (
                s.get("general.site_name").to_string(),
                state.app.site_look(&s),
            ),
            Err(_) => ("boxoffice".to_string(), Default::default()),
        };
        let mut nav = Vec::new();
        let mut staff = false;
        if let Some(s) = session.filter(|s| !s.mfa_pending) {
            if s.is_staff() {
                staff = true;
                nav.push(NavGroup {
                    label: "Overview",
                    items: vec![NavItem {
                        href: "/admin".into(),
                        label: "Dashboard".into(),
                        active: active == "dashboard",
                        icon: icon("dashboard"),
                        children: Vec::new(),
                    }],
                });
                for g in GROUPS {
                    let items: Vec<NavItem> = SECTIONS
                        .iter()
                        .filter(|sec| sec.group == *g && s.can(sec.permission))
                        .map(|sec| NavItem {
                            href: format!("/admin/{}", sec.slug),
                            label: sec.title.to_string(),
                            active: active == sec.slug,
                            icon: icon(sec.slug),
                            children: Vec::new(),
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
                        label: "My account".into(),
                        active: active == "account",
                        icon: icon("account"),
                        children: Vec::new(),
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
            staff,
            look,
        }
    }

    /// Lists `children` under the navigation item that links to `href` (shown while it is the
    /// current page), e.g. the settings sections under Settings.
    pub fn with_children(mut self, href: &str, children: Vec<NavItem>) -> Self {
        if let Some(item) = self
            .nav
            .iter_mut()
            .flat_map(|g| g.items.iter_mut())
            .find(|i| i.href == href)
        {
            item.children = children;
        }
        self
    }

    /// Drawn in the admin shell (sidebar) rather than the plain frame.
    pub fn sidebar(&self) -> bool {
        self.staff && !self.nav.is_empty()
    }
}
