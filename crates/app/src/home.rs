//! The public home page (product §8.1 page settings, §8.12 custom content): the owner's two
//! text sections and a pricing section listing the active plans.

use crate::{App, AppError};
use boxoffice_domain::money::{Currency, Money};
use boxoffice_store::plans;

/// One owner-written section; the body is split into paragraphs at blank lines and shown as
/// text (no HTML, no Markdown).
#[derive(Clone, Debug)]
pub struct HomeSection {
    pub title: String,
    pub paragraphs: Vec<String>,
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
}

fn paragraphs(body: &str) -> Vec<String> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
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
            let body = paragraphs(s.get(&format!("content.home_section{n}_body")));
            if !title.is_empty() || !body.is_empty() {
                sections.push(HomeSection {
                    title,
                    paragraphs: body,
                });
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
        Ok(HomePage {
            site_name: s.get("general.site_name").to_string(),
            public: s.bool("general.home_page_public"),
            sections,
            pricing,
            registration_open,
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
    fn a_blank_line_starts_a_paragraph() {
        assert_eq!(
            paragraphs("One\nline two\r\n\r\n\n Two \n\n"),
            vec!["One\nline two".to_string(), "Two".to_string()]
        );
    }
}
