use crate::WebState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    JS,
                )
                    .into_response()
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::CSS;

    /// `--name: #rrggbb` pairs of one block of the stylesheet.
    fn tokens(block: &str) -> Vec<(&str, [f64; 3])> {
        block
            .split(';')
            .filter_map(|decl| {
                let (name, value) = decl.split_once(':')?;
                let name = name.trim().rsplit(' ').next()?.strip_prefix("--")?;
                let hex = value.trim().strip_prefix('#')?;
                if hex.len() != 6 {
                    return None;
                }
                let c = |i: usize| {
                    u8::from_str_radix(&hex[i..i + 2], 16)
                        .map(|v| f64::from(v) / 255.0)
                        .ok()
                };
                Some((name, [c(0)?, c(2)?, c(4)?]))
            })
            .collect()
    }

    fn luminance(c: [f64; 3]) -> f64 {
        let f = |v: f64| {
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2])
    }

    fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn text_colours_keep_a_readable_contrast_in_both_themes() {
        let light = &CSS[CSS.find(":root {").expect("light tokens")
            ..CSS
                .find("@media (prefers-color-scheme: dark)")
                .expect("dark media")];
        let dark_start = CSS
            .find(":root[data-theme=\"dark\"] {")
            .expect("dark tokens");
        let dark = &CSS[dark_start..dark_start + CSS[dark_start..].find('}').expect("end")];
        let pairs = [
            ("text", "surface"),
            ("text", "surface-raised"),
            ("muted", "surface"),
            ("muted", "surface-raised"),
            ("muted", "surface-sunken"),
            ("accent", "surface"),
            ("accent", "surface-raised"),
            ("accent", "accent-soft"),
            ("accent-text", "accent"),
            ("danger", "surface-raised"),
            ("danger", "danger-soft"),
            ("warning", "warning-soft"),
            ("success", "success-soft"),
            ("info", "info-soft"),
            ("text", "sidebar"),
            ("muted", "sidebar"),
        ];
        let system_start = CSS
            .find(":root:not([data-theme=\"light\"]) {")
            .expect("system dark tokens");
        let system = &CSS[system_start..system_start + CSS[system_start..].find('}').expect("end")];
        assert_eq!(
            tokens(system),
            tokens(dark),
            "the system's dark and the chosen dark theme are the same"
        );
        for (theme, block) in [("light", light), ("dark", dark)] {
            let t = tokens(block);
            let get = |n: &str| {
                t.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, c)| *c)
                    .unwrap_or_else(|| panic!("{theme}: no --{n}"))
            };
            for (fg, bg) in pairs {
                let ratio = contrast(get(fg), get(bg));
                assert!(
                    ratio >= 4.5,
                    "{theme}: --{fg} on --{bg} is {ratio:.2}:1, under WCAG AA's 4.5:1"
                );
            }
        }
    }

    #[test]
    fn the_stylesheet_loads_nothing_from_another_host() {
        for bad in ["@import", "url(http", "url(https", "url(//"] {
            assert!(!CSS.contains(bad), "{bad}");
        }
    }
}
