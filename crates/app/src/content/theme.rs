//! The look an owner gives the site: colours over the design's tokens, a wallpaper behind the
//! portal pages and custom CSS. Both are served as stylesheets of the site itself
//! (`/site/theme.css`, `/site/custom.css`), so the Content-Security-Policy needs no inline style
//! and no other host; their addresses carry a version so a change shows at once.

use crate::App;
use crate::settings::Settings;
use std::fmt::Write;

/// What every page's frame needs to know of the owner's look.
#[derive(Clone, Debug, Default)]
pub struct SiteLook {
    /// `/site/logo.png?v=…` when a logo is uploaded.
    pub logo: Option<String>,
    /// `/site/theme.css?v=…` when a colour or a wallpaper is set.
    pub theme_css: Option<String>,
    /// `/site/custom.css?v=…` when custom CSS is set.
    pub custom_css: Option<String>,
    /// The FAQ has text, so the portal links it.
    pub faq: bool,
}

/// FNV-1a: a short, stable version for an address (not a security measure).
fn version(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h as u32)
}

fn rgb(hex: &str) -> Option<[u8; 3]> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([c(0)?, c(2)?, c(4)?])
}

fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let f = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
}

/// White or near-black, whichever reads better on `bg` (WCAG contrast).
fn text_on(bg: [u8; 3]) -> &'static str {
    let l = luminance(bg);
    let on_white = 1.05 / (l + 0.05);
    let on_dark = (l + 0.05) / (luminance([11, 15, 26]) + 0.05);
    if on_white >= on_dark {
        "#ffffff"
    } else {
        "#0b0f1a"
    }
}

/// `c` moved `by` (0..1) toward black (`to_white` false) or white.
fn mix(c: [u8; 3], by: f64, to_white: bool) -> String {
    let t = if to_white { 255.0 } else { 0.0 };
    let m = |v: u8| (f64::from(v) + (t - f64::from(v)) * by).round() as u8;
    format!("#{:02x}{:02x}{:02x}", m(c[0]), m(c[1]), m(c[2]))
}

/// The declarations of one theme's overrides.
fn declarations(accent: &str, surface: &str, dark: bool) -> String {
    let mut out = String::new();
    if let Some(c) = rgb(accent) {
        let _ = write!(
            out,
            "--accent: {accent}; --focus: {accent}; --accent-hover: {}; --accent-text: {};",
            mix(c, 0.15, dark),
            text_on(c)
        );
    }
    if rgb(surface).is_some() {
        let _ = write!(out, " --surface: {surface};");
    }
    out
}

/// The stylesheet of the owner's colours and wallpaper; empty when none is set.
pub fn theme_css(s: &Settings, wallpaper: Option<u64>) -> String {
    let light = declarations(
        s.get("content.theme_accent"),
        s.get("content.theme_surface"),
        false,
    );
    let dark = declarations(
        s.get("content.theme_accent_dark"),
        s.get("content.theme_surface_dark"),
        true,
    );
    let mut css = String::new();
    if !light.is_empty() {
        let _ = writeln!(css, ":root {{ {light} }}");
    }
    if !dark.is_empty() {
        let _ = writeln!(
            css,
            "@media (prefers-color-scheme: dark) {{ :root:not([data-theme=\"light\"]) {{ {dark} }} }}\n:root[data-theme=\"dark\"] {{ {dark} }}"
        );
    }
    if let Some(v) = wallpaper {
        let _ = writeln!(
            css,
            "body.portal {{ background: var(--surface) url(\"/site/wallpaper?v={v}\") center / cover no-repeat fixed; }}"
        );
    }
    css
}

impl App {
    /// The owner's look from the settings a page has already read: no further database query;
    /// the uploads are one file status each.
    pub fn site_look(&self, s: &Settings) -> SiteLook {
        let theme = theme_css(s, self.wallpaper_version());
        let custom = s.get("content.custom_css");
        SiteLook {
            logo: self.logo_version().map(|v| format!("/site/logo.png?v={v}")),
            theme_css: (!theme.is_empty())
                .then(|| format!("/site/theme.css?v={}", version(&theme))),
            custom_css: (!custom.trim().is_empty())
                .then(|| format!("/site/custom.css?v={}", version(custom))),
            faq: !s.get("content.faq_body").trim().is_empty(),
        }
    }

    /// The text of `/site/theme.css`.
    pub async fn theme_stylesheet(&self) -> Result<String, crate::AppError> {
        let s = self.settings().await?;
        Ok(theme_css(&s, self.wallpaper_version()))
    }

    /// The text of `/site/custom.css`: the owner's CSS as written.
    pub async fn custom_stylesheet(&self) -> Result<String, crate::AppError> {
        Ok(self.settings().await?.get("content.custom_css").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_an_accent_is_the_readable_one() {
        assert_eq!(text_on([0x3b, 0x5b, 0xdb]), "#ffffff");
        assert_eq!(text_on([0xff, 0xd4, 0x3b]), "#0b0f1a");
    }

    #[test]
    fn hover_moves_toward_black_in_light_and_white_in_dark() {
        assert_eq!(mix([100, 100, 100], 0.5, false), "#323232");
        assert_eq!(mix([100, 100, 100], 0.5, true), "#b2b2b2");
    }

    #[test]
    fn versions_change_with_the_text() {
        assert_ne!(version("a"), version("b"));
        assert_eq!(version("a"), version("a"));
    }
}
