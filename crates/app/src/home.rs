//! The public home page (product §8.1 page settings, §8.12 custom content): the owner's two
//! sections (Markdown, sanitised), a pricing section listing the active plans, and a library
//! statistics section from the counts the last library sync stored. Also the FAQ page.

use crate::{App, AppError};
use boxoffice_domain::money::{Currency, Money};
use boxoffice_store::plans;

/// One owner-written section.
#[derive(Clone, Debug)]
pub struct HomeSection {
    pub title: String,
    /// The body's Markdown as sanitised HTML ([`crate::content::markdown`]).
    pub html: String,
}

/// One library as the statistics section shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryStat {
    pub name: String,
    /// "1,204 movies", "87 shows · 3,112 episodes".
    pub counts: String,
}

/// The FAQ page.
#[derive(Clone, Debug)]
pub struct FaqPage {
    pub title: String,
    pub html: String,
    /// Visitors who are not logged in see the page.
    pub public: bool,
}

/// One plan as the pricing section shows it.
#[derive(Clone, Debug)]
pub struct PricedPlan {
    pub name: String,
    pub description: String,
    /// "10.00 USD", or "Free".
    pub price: String,
    /// "30 days", "1 month", "3 months".
    pub duration: String,
    pub trial: bool,
    /// "2 streams", or empty for no limit.
    pub streams: String,
}

#[derive(Clone, Debug)]
pub struct HomePage {
    pub site_name: String,
    /// Visitors who are not logged in see the page.
    pub public: bool,
    pub sections: Vec<HomeSection>,
    /// The pricing heading, intro and plans; None when the section is switched off.
    pub pricing: Option<(String, String, Vec<PricedPlan>)>,
    /// Registration takes new customers now.
    pub registration_open: bool,
    /// The library statistics heading and libraries; None when switched off or nothing is synced.
    pub library_stats: Option<(String, Vec<LibraryStat>)>,
}

/// 1234567 → "1,234,567".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// What a library's counts mean by its kind (Plex `movie`/`show`/`artist`/`photo`, Jellyfin and
/// Emby `movies`/`tvshows`/`music`/`photos`…).
pub fn library_counts(kind: &str, items: i64, children: Option<i64>) -> String {
    let (top, child) = match kind.to_ascii_lowercase().as_str() {
        "movie" | "movies" => (("movie", "movies"), None),
        "show" | "tvshows" => (("show", "shows"), Some(("episode", "episodes"))),
        "artist" | "music" => (("artist", "artists"), Some(("track", "tracks"))),
        "photo" | "photos" | "homevideos" => (("item", "items"), None),
        "books" | "audiobooks" => (("book", "books"), None),
        _ => (("item", "items"), None),
    };
    let mut out = counted(items, top.0, top.1);
    if let (Some((one, many)), Some(n)) = (child, children) {
        out.push_str(&format!(" · {}", counted(n, one, many)));
    }
    out
}

/// "30 days", "1 month", "12 months".
pub fn duration_label(count: i64, unit: &str) -> String {
    let one = unit.trim_end_matches('s');
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {one}s")
    }
}

/// The price of one period: "Free" at zero, else the amount and its currency.
pub fn price_label(minor: i64, currency: &str) -> String {
    if minor == 0 {
        return "Free".into();
    }
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{}.{:02} {currency}", minor / 100, minor % 100),
    }
}

impl App {
    pub async fn home_page(&self) -> Result<HomePage, AppError> {
        let s = self.settings().await?;
        let mut sections = Vec::new();
        for n in [1, 2] {
            let title = s
                .get(&format!("content.home_section{n}_title"))
                .trim()
                .to_string();
            let html = crate::content::markdown::to_safe_html(
                s.get(&format!("content.home_section{n}_body")),
            );
            if !title.is_empty() || !html.is_empty() {
                sections.push(HomeSection { title, html });
            }
        }
        let pricing = if s.bool("content.show_pricing") {
            let plans = plans::list(self.db.ex())
                .await?
                .into_iter()
                .filter(|p| p.plan.active)
                .map(|p| {
                    let p = p.plan;
                    PricedPlan {
                        price: price_label(p.cost_minor, &p.currency),
                        duration: duration_label(p.duration_count, &p.duration_unit),
                        trial: p.is_trial,
                        streams: match p.stream_limit {
                            Some(1) => "1 stream at a time".into(),
                            Some(n) if n > 1 => format!("{n} streams at a time"),
                            _ => String::new(),
                        },
                        name: p.name,
                        description: p.description,
                    }
                })
                .collect();
            Some((
                s.get("content.pricing_title").trim().to_string(),
                s.get("content.pricing_intro").trim().to_string(),
                plans,
            ))
        } else {
            None
        };
        let plex = !boxoffice_store::plex_accounts::list(self.db.ex())
            .await?
            .is_empty();
        let registration_open = crate::auth::registration_policy_from(&s, plex)
            .closed
            .is_none();
        let library_stats = if s.bool("content.show_library_stats") {
            let stats = self.library_stats().await?;
            (!stats.is_empty()).then(|| {
                (
                    s.get("content.library_stats_title").trim().to_string(),
                    stats,
                )
            })
        } else {
            None
        };
        Ok(HomePage {
            site_name: s.get("general.site_name").to_string(),
            public: s.bool("general.home_page_public"),
            sections,
            pricing,
            registration_open,
            library_stats,
        })
    }

    /// Every synced library outside the Private groups with its counts. A library of the same
    /// name and kind on several servers (mirrors) is listed once, with its largest counts.
    pub async fn library_stats(&self) -> Result<Vec<LibraryStat>, AppError> {
        let private: Vec<i64> = boxoffice_store::library_groups::list(self.db.ex())
            .await?
            .into_iter()
            .filter(|g| g.is_private)
            .map(|g| g.id)
            .collect();
        let mut seen: Vec<(String, String, i64, Option<i64>)> = Vec::new();
        for l in boxoffice_store::libraries::list(self.db.ex(), None).await? {
            if l.library_group_id.is_some_and(|g| private.contains(&g)) || l.synced_at == 0 {
                continue;
            }
            match seen
                .iter_mut()
                .find(|(n, k, _, _)| *n == l.name && k.eq_ignore_ascii_case(&l.kind))
            {
                Some(e) => {
                    e.2 = e.2.max(l.item_count);
                    e.3 = e.3.max(l.child_count);
                }
                None => seen.push((l.name, l.kind, l.item_count, l.child_count)),
            }
        }
        seen.sort_by_key(|a| a.0.to_lowercase());
        Ok(seen
            .into_iter()
            .map(|(name, kind, items, children)| LibraryStat {
                counts: library_counts(&kind, items, children),
                name,
            })
            .collect())
    }

    /// The FAQ (product §8.1 "FAQ page is public"): the owner's Markdown, sanitised.
    pub async fn faq_page(&self) -> Result<FaqPage, AppError> {
        let s = self.settings().await?;
        Ok(FaqPage {
            title: s.get("content.faq_title").trim().to_string(),
            html: crate::content::markdown::to_safe_html(s.get("content.faq_body")),
            public: s.bool("general.faq_page_public"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_prices_read_plainly() {
        assert_eq!(duration_label(30, "days"), "30 days");
        assert_eq!(duration_label(1, "months"), "1 month");
        assert_eq!(duration_label(3, "months"), "3 months");
        assert_eq!(price_label(0, "USD"), "Free");
        assert_eq!(price_label(1250, "EUR"), "12.50 EUR");
    }

    #[test]
    fn library_counts_read_by_kind() {
        assert_eq!(library_counts("movie", 1204, None), "1,204 movies");
        assert_eq!(
            library_counts("tvshows", 87, Some(3112)),
            "87 shows · 3,112 episodes"
        );
        assert_eq!(library_counts("show", 1, Some(1)), "1 show · 1 episode");
        assert_eq!(
            library_counts("artist", 10, Some(1_000_000)),
            "10 artists · 1,000,000 tracks"
        );
        assert_eq!(library_counts("photo", 3, None), "3 items");
    }
}
