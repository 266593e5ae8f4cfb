//! Plans: what a subscriber buys for a fixed period, and the rules a set of plans must obey
//! (product §10.1, §10.2, §25 items 10, 11, 13, 14, 21; operations §1.4).
//!
//! **Duration.** The reference docs give no unit; the spec infers days from "a 30-day monthly plan"
//! (operations §1.4, product §27 question 1). A plan's duration is a [`PlanDuration`]: either a
//! number of days or a number of calendar months, because Stripe and PayPal bill "monthly" on the
//! same day of each month and a plan sold as monthly must end when the gateway charges again.
//! - `Days(n)` adds `n × 86 400` seconds: UTC has no daylight-saving shifts, so a day is always
//!   that long.
//! - `Months(n)` moves the UTC calendar date `n` months on and keeps the time of day; a day that
//!   does not exist in the target month is clamped to that month's last day (31 January + 1 month
//!   = 28 or 29 February). `q` periods are added in one step (`Months(n × q)`) so that clamping
//!   does not drift: 31 January + 2 months is 31 March, not 28 March.

use crate::Money;
use crate::ids::{LibraryGroupId, ServerId};
use crate::platform::Platform;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use time::{Month, OffsetDateTime};

const SECS_PER_DAY: i64 = 86_400;

/// How long one payment for a plan lasts. See the module doc for how it is added to a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlanDuration {
    Days(u32),
    Months(u32),
}

/// Adding a duration left the range of representable dates (years −9999 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the period would end outside the supported range of dates")]
pub struct OutOfRange;

impl PlanDuration {
    /// The end of `times` consecutive periods starting at `start` (unix seconds, UTC).
    pub fn add_to(self, start: i64, times: u32) -> Result<i64, OutOfRange> {
        match self {
            PlanDuration::Days(d) => i64::from(d)
                .checked_mul(i64::from(times))
                .and_then(|days| days.checked_mul(SECS_PER_DAY))
                .and_then(|secs| start.checked_add(secs))
                .filter(|end| OffsetDateTime::from_unix_timestamp(*end).is_ok())
                .ok_or(OutOfRange),
            PlanDuration::Months(m) => {
                let months = i64::from(m).checked_mul(i64::from(times));
                months.and_then(|n| add_months(start, n)).ok_or(OutOfRange)
            }
        }
    }

    /// Whether the duration is zero (a plan must last at least one day).
    pub fn is_zero(self) -> bool {
        matches!(self, PlanDuration::Days(0) | PlanDuration::Months(0))
    }
}

impl fmt::Display for PlanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PlanDuration::Days(1) => f.write_str("1 day"),
            PlanDuration::Days(n) => write!(f, "{n} days"),
            PlanDuration::Months(1) => f.write_str("1 month"),
            PlanDuration::Months(n) => write!(f, "{n} months"),
        }
    }
}

fn add_months(start: i64, months: i64) -> Option<i64> {
    let t = OffsetDateTime::from_unix_timestamp(start).ok()?;
    let index =
        (i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1).checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(time::util::days_in_month(month, year));
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(t.replace_date(date).unix_timestamp())
}

/// A plan as the admin configures it (product §10.2). Identity (the row id) is the store's
/// business; the rules only need the values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    /// Price of one period.
    pub cost: Money,
    pub duration: PlanDuration,
    /// Groups whose libraries are shared with subscribers; at least one, never Private.
    pub library_group_ids: Vec<LibraryGroupId>,
    /// Servers tried first when placing a subscriber (operations §3.3).
    pub target_server_ids: Vec<ServerId>,
    /// Maximum concurrent streams/devices; `None` = no limit.
    pub max_streams: Option<u32>,
    /// Mobile downloads; needs Plex Pass / Emby Premiere on the servers involved.
    pub downloads_allowed: bool,
    /// Video transcoding; audio transcoding is always allowed (operations §3.8).
    pub video_transcoding_allowed: bool,
    /// Emby device-login limit; `None` = unlimited (product §18).
    pub max_emby_devices: Option<u32>,
    pub is_trial: bool,
    pub is_default: bool,
    /// Only active plans are offered at checkout and on the pricing section.
    pub active: bool,
    /// Stripe price id (`price_…`); makes the plan available for recurring checkout.
    pub stripe_price_id: Option<String>,
    /// PayPal plan id (`P-…`); makes the plan available for recurring checkout.
    pub paypal_plan_id: Option<String>,
    /// Linked users: how many sub accounts a master on this plan may pay for; `None` = the plan
    /// is not for masters (product §17).
    pub max_linked_accounts: Option<u32>,
    /// Groups left shared after expiry when advanced expiration handling is on (product §8.7).
    pub grace_library_group_ids: Vec<LibraryGroupId>,
}

impl Plan {
    /// Whether the plan can be bought as a recurring subscription (product §10.1: a Stripe price id
    /// and/or a PayPal plan id). Every plan can be bought pay-as-you-go.
    pub fn offers_recurring(&self) -> bool {
        non_blank(&self.stripe_price_id) || non_blank(&self.paypal_plan_id)
    }
}

fn non_blank(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// The set of plans as it would be after an edit is saved; validation runs on the whole set because
/// several rules (one default, a trial plan) are about the set, not one plan.
pub type PlanDraft = Plan;

/// Licence facts about one server, for the downloads rule (product §10.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerLicence {
    pub id: ServerId,
    pub name: String,
    pub platform: Platform,
    /// Plex: the owning Plex account is flagged *Has Plex Pass*.
    pub owner_has_plex_pass: bool,
    /// Emby: the server is flagged *Has Emby Premiere*.
    pub has_emby_premiere: bool,
}

impl ServerLicence {
    /// Downloads on Plex need Plex Pass, on Emby Premiere; Jellyfin has no licence.
    pub fn allows_downloads(&self) -> bool {
        match self.platform {
            Platform::Plex => self.owner_has_plex_pass,
            Platform::Emby => self.has_emby_premiere,
            Platform::Jellyfin => true,
        }
    }
}

/// What the plan rules need besides the plans.
#[derive(Clone, Copy, Debug)]
pub struct PlanRulesContext<'a> {
    /// Settings → Subscriptions & trials → *Trial enabled*.
    pub trials_enabled: bool,
    /// Settings → Subscriptions & trials → *Subscription enabled*.
    pub subscriptions_enabled: bool,
    /// Whether recurring checkout is switched on for some gateway.
    pub recurring_enabled: bool,
    /// The Private group(s): never shared by any plan (product §9).
    pub private_group_ids: &'a [LibraryGroupId],
    /// Every server a plan could be placed on.
    pub servers: &'a [ServerLicence],
}

/// The rule a violation breaks; `Display` names it as the spec does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlanRule {
    /// product §10.1, §25.10.
    ExactlyOneDefault,
    /// product §10.1, §25.11 (GitBook: at least one; D360: exactly one).
    TrialPlanWhenTrialsEnabled,
    /// product §25.11.
    PlanWhenSubscriptionsEnabled,
    /// product §10.1, §25.13.
    DownloadsNeedLicence,
    /// product §10.1, §25.14.
    RecurringNeedsGatewayId,
    /// product §24.2 [INF]: trials are free.
    TrialIsFree,
    /// product §10.2, §25.10.
    AtLeastOneLibraryGroup,
    /// product §9: Private libraries are never shared.
    NoPrivateGroup,
    /// product §25.21: linked users are not for trial plans.
    NoLinkedUsersOnTrial,
    /// [INF] plans are picked by name at checkout and in the bulk-invite CSV (operations §6.17).
    UniqueName,
    /// [INF] a plan sells a non-empty period at a non-negative price.
    SensiblePriceAndDuration,
    /// [INF] a target server must exist.
    KnownTargetServer,
}

impl fmt::Display for PlanRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlanRule::ExactlyOneDefault => "exactly one plan must be the default",
            PlanRule::TrialPlanWhenTrialsEnabled => {
                "trials enabled need at least one active trial plan"
            }
            PlanRule::PlanWhenSubscriptionsEnabled => {
                "subscriptions enabled need at least one active plan"
            }
            PlanRule::DownloadsNeedLicence => "downloads need Plex Pass or Emby Premiere",
            PlanRule::RecurringNeedsGatewayId => {
                "recurring needs a Stripe price ID or a PayPal plan ID"
            }
            PlanRule::TrialIsFree => "a trial plan costs nothing",
            PlanRule::AtLeastOneLibraryGroup => "a plan includes at least one library group",
            PlanRule::NoPrivateGroup => "a plan never includes the Private library group",
            PlanRule::NoLinkedUsersOnTrial => "linked users are not available on trial plans",
            PlanRule::UniqueName => "plan names are unique",
            PlanRule::SensiblePriceAndDuration => {
                "a plan lasts at least one day and does not cost less than nothing"
            }
            PlanRule::KnownTargetServer => "target servers must exist",
        })
    }
}

/// One broken rule: which rule, which plan (none for rules about the whole set), and a message
/// for the admin that names the rule and says what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRuleViolation {
    pub rule: PlanRule,
    pub plan: Option<String>,
    pub message: String,
}

impl fmt::Display for PlanRuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanRuleViolation {}

fn violation(rule: PlanRule, plan: Option<&Plan>, detail: String) -> PlanRuleViolation {
    let message = match plan {
        Some(p) => format!("{rule}: plan \"{}\" {detail}", p.name),
        None => format!("{rule}: {detail}"),
    };
    PlanRuleViolation {
        rule,
        plan: plan.map(|p| p.name.clone()),
        message,
    }
}

/// Checks every plan rule over the whole set and returns every violation, set-wide rules first and
/// then plan by plan in the given order, so the admin can fix everything in one pass.
pub fn validate_plans(
    plans: &[PlanDraft],
    ctx: &PlanRulesContext<'_>,
) -> Result<(), Vec<PlanRuleViolation>> {
    let mut out = Vec::new();

    let defaults: Vec<&str> = plans
        .iter()
        .filter(|p| p.is_default)
        .map(|p| p.name.as_str())
        .collect();
    match defaults.len() {
        1 => {}
        0 => out.push(violation(
            PlanRule::ExactlyOneDefault,
            None,
            "no plan is marked default; users imported from a server are put on it".into(),
        )),
        _ => out.push(violation(
            PlanRule::ExactlyOneDefault,
            None,
            format!(
                "{} are all marked default; keep one",
                quoted_list(&defaults)
            ),
        )),
    }

    if ctx.trials_enabled && !plans.iter().any(|p| p.is_trial && p.active) {
        out.push(violation(
            PlanRule::TrialPlanWhenTrialsEnabled,
            None,
            "mark an active plan as trial, or turn trials off".into(),
        ));
    }
    if ctx.subscriptions_enabled && !plans.iter().any(|p| p.active && !p.is_trial) {
        out.push(violation(
            PlanRule::PlanWhenSubscriptionsEnabled,
            None,
            "activate a paid plan, or turn subscriptions off".into(),
        ));
    }
    // Without one recurring-capable plan the recurring checkout would offer an empty list.
    if ctx.recurring_enabled && !plans.iter().any(|p| p.active && p.offers_recurring()) {
        out.push(violation(
            PlanRule::RecurringNeedsGatewayId,
            None,
            "recurring payments are on but no active plan has a Stripe price ID or a PayPal plan ID".into(),
        ));
    }

    let mut seen = HashSet::new();
    for plan in plans {
        let key = plan.name.trim().to_lowercase();
        if key.is_empty() {
            out.push(violation(
                PlanRule::UniqueName,
                Some(plan),
                "has no name".into(),
            ));
        } else if !seen.insert(key) {
            out.push(violation(
                PlanRule::UniqueName,
                Some(plan),
                "has the same name as another plan".into(),
            ));
        }
        check_plan(plan, ctx, &mut out);
    }

    if out.is_empty() { Ok(()) } else { Err(out) }
}

fn check_plan(plan: &Plan, ctx: &PlanRulesContext<'_>, out: &mut Vec<PlanRuleViolation>) {
    if plan.duration.is_zero() || plan.cost.minor < 0 {
        out.push(violation(
            PlanRule::SensiblePriceAndDuration,
            Some(plan),
            format!("costs {} for {}", plan.cost, plan.duration),
        ));
    }
    if plan.is_trial && plan.cost.minor != 0 {
        out.push(violation(
            PlanRule::TrialIsFree,
            Some(plan),
            format!("is a trial but costs {}", plan.cost),
        ));
    }
    if plan.is_trial && plan.max_linked_accounts.is_some_and(|n| n > 0) {
        out.push(violation(
            PlanRule::NoLinkedUsersOnTrial,
            Some(plan),
            "is a trial but allows sub accounts".into(),
        ));
    }
    if plan.library_group_ids.is_empty() {
        out.push(violation(
            PlanRule::AtLeastOneLibraryGroup,
            Some(plan),
            "includes no library group".into(),
        ));
    }
    let private = |g: &LibraryGroupId| ctx.private_group_ids.contains(g);
    if plan.library_group_ids.iter().any(private) {
        out.push(violation(
            PlanRule::NoPrivateGroup,
            Some(plan),
            "includes the Private group".into(),
        ));
    }
    if plan.grace_library_group_ids.iter().any(private) {
        out.push(violation(
            PlanRule::NoPrivateGroup,
            Some(plan),
            "keeps the Private group shared after expiry".into(),
        ));
    }

    let unknown: Vec<String> = plan
        .target_server_ids
        .iter()
        .filter(|id| !ctx.servers.iter().any(|s| s.id == **id))
        .map(|id| id.to_string())
        .collect();
    if !unknown.is_empty() {
        out.push(violation(
            PlanRule::KnownTargetServer,
            Some(plan),
            format!(
                "targets servers that do not exist (ids {})",
                unknown.join(", ")
            ),
        ));
    }

    if plan.downloads_allowed {
        // The plan can land on its targets; without targets it can land on any server.
        let involved: Vec<&ServerLicence> = if plan.target_server_ids.is_empty() {
            ctx.servers.iter().collect()
        } else {
            ctx.servers
                .iter()
                .filter(|s| plan.target_server_ids.contains(&s.id))
                .collect()
        };
        let unlicensed: Vec<&str> = involved
            .iter()
            .filter(|s| !s.allows_downloads())
            .map(|s| s.name.as_str())
            .collect();
        if !unlicensed.is_empty() {
            out.push(violation(
                PlanRule::DownloadsNeedLicence,
                Some(plan),
                format!(
                    "allows downloads but {} lack Plex Pass on the owning Plex account or Emby Premiere; flag them or turn downloads off",
                    quoted_list(&unlicensed)
                ),
            ));
        }
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;
    use time::macros::datetime;

    pub(crate) fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    pub(crate) fn plan(name: &str) -> Plan {
        Plan {
            name: name.into(),
            cost: usd(1500),
            duration: PlanDuration::Days(30),
            library_group_ids: vec![2],
            target_server_ids: vec![],
            max_streams: Some(2),
            downloads_allowed: false,
            video_transcoding_allowed: true,
            max_emby_devices: None,
            is_trial: false,
            is_default: false,
            active: true,
            stripe_price_id: None,
            paypal_plan_id: None,
            max_linked_accounts: None,
            grace_library_group_ids: vec![],
        }
    }

    const PRIVATE: LibraryGroupId = 1;

    fn servers() -> Vec<ServerLicence> {
        vec![
            ServerLicence {
                id: 10,
                name: "plex-pass".into(),
                platform: Platform::Plex,
                owner_has_plex_pass: true,
                has_emby_premiere: false,
            },
            ServerLicence {
                id: 11,
                name: "plex-free".into(),
                platform: Platform::Plex,
                owner_has_plex_pass: false,
                has_emby_premiere: false,
            },
            ServerLicence {
                id: 20,
                name: "emby-premiere".into(),
                platform: Platform::Emby,
                owner_has_plex_pass: false,
                has_emby_premiere: true,
            },
        ]
    }

    fn check(plans: &[Plan], trials: bool) -> Vec<PlanRule> {
        let servers = servers();
        let ctx = PlanRulesContext {
            trials_enabled: trials,
            subscriptions_enabled: true,
            recurring_enabled: false,
            private_group_ids: &[PRIVATE],
            servers: &servers,
        };
        match validate_plans(plans, &ctx) {
            Ok(()) => vec![],
            Err(v) => v.into_iter().map(|v| v.rule).collect(),
        }
    }

    fn default_plan() -> Plan {
        Plan {
            is_default: true,
            ..plan("Standard")
        }
    }

    #[test]
    fn a_sound_set_of_plans_passes() {
        let trial = Plan {
            is_trial: true,
            cost: usd(0),
            ..plan("Trial")
        };
        assert_eq!(check(&[default_plan(), trial], true), vec![]);
    }

    #[test]
    fn exactly_one_plan_must_be_the_default() {
        assert_eq!(
            check(&[plan("A")], false),
            vec![PlanRule::ExactlyOneDefault]
        );
        let two = [
            default_plan(),
            Plan {
                is_default: true,
                ..plan("B")
            },
        ];
        let servers = servers();
        let ctx = PlanRulesContext {
            trials_enabled: false,
            subscriptions_enabled: true,
            recurring_enabled: false,
            private_group_ids: &[PRIVATE],
            servers: &servers,
        };
        let errs = validate_plans(&two, &ctx).unwrap_err();
        assert_eq!(
            errs[0].message,
            "exactly one plan must be the default: \"Standard\", \"B\" are all marked default; keep one"
        );
    }

    #[test]
    fn trials_enabled_need_an_active_trial_plan() {
        let inactive_trial = Plan {
            is_trial: true,
            active: false,
            cost: usd(0),
            ..plan("Trial")
        };
        assert_eq!(
            check(&[default_plan(), inactive_trial], true),
            vec![PlanRule::TrialPlanWhenTrialsEnabled]
        );
    }

    #[test]
    fn a_trial_plan_costs_nothing_and_has_no_linked_users() {
        let trial = Plan {
            is_trial: true,
            max_linked_accounts: Some(2),
            ..plan("Trial")
        };
        assert_eq!(
            check(&[default_plan(), trial], true),
            vec![PlanRule::TrialIsFree, PlanRule::NoLinkedUsersOnTrial]
        );
    }

    #[test]
    fn a_plan_includes_a_library_group_and_never_private() {
        let none = Plan {
            library_group_ids: vec![],
            ..plan("Empty")
        };
        let private = Plan {
            library_group_ids: vec![2, PRIVATE],
            grace_library_group_ids: vec![PRIVATE],
            ..plan("Leaky")
        };
        assert_eq!(
            check(&[default_plan(), none, private], false),
            vec![
                PlanRule::AtLeastOneLibraryGroup,
                PlanRule::NoPrivateGroup,
                PlanRule::NoPrivateGroup
            ]
        );
    }

    #[test]
    fn downloads_need_plex_pass_or_emby_premiere_on_every_target() {
        let licensed = Plan {
            downloads_allowed: true,
            target_server_ids: vec![10, 20],
            ..plan("Licensed")
        };
        assert_eq!(check(&[default_plan(), licensed], false), vec![]);
        let unlicensed = Plan {
            downloads_allowed: true,
            target_server_ids: vec![10, 11],
            ..plan("Mixed")
        };
        assert_eq!(
            check(&[default_plan(), unlicensed], false),
            vec![PlanRule::DownloadsNeedLicence]
        );
        // No targets: the plan may land anywhere, so every server counts.
        let anywhere = Plan {
            downloads_allowed: true,
            ..plan("Anywhere")
        };
        assert_eq!(
            check(&[default_plan(), anywhere], false),
            vec![PlanRule::DownloadsNeedLicence]
        );
    }

    #[test]
    fn recurring_needs_a_plan_with_a_stripe_price_or_paypal_plan() {
        let servers = servers();
        let mut ctx = PlanRulesContext {
            trials_enabled: false,
            subscriptions_enabled: true,
            recurring_enabled: true,
            private_group_ids: &[PRIVATE],
            servers: &servers,
        };
        let blank = Plan {
            paypal_plan_id: Some("  ".into()),
            ..default_plan()
        };
        let errs = validate_plans(std::slice::from_ref(&blank), &ctx).unwrap_err();
        assert_eq!(errs[0].rule, PlanRule::RecurringNeedsGatewayId);
        let stripe = Plan {
            stripe_price_id: Some("price_123".into()),
            ..blank
        };
        assert!(validate_plans(std::slice::from_ref(&stripe), &ctx).is_ok());
        ctx.recurring_enabled = false;
        assert!(validate_plans(&[default_plan()], &ctx).is_ok());
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let bad = Plan {
            is_trial: true,
            library_group_ids: vec![],
            target_server_ids: vec![99],
            duration: PlanDuration::Days(0),
            ..plan("Bad")
        };
        let dup = plan("bad");
        assert_eq!(
            check(&[bad, dup], true),
            vec![
                PlanRule::ExactlyOneDefault,
                PlanRule::SensiblePriceAndDuration,
                PlanRule::TrialIsFree,
                PlanRule::AtLeastOneLibraryGroup,
                PlanRule::KnownTargetServer,
                PlanRule::UniqueName,
            ]
        );
    }

    fn unix(t: OffsetDateTime) -> i64 {
        t.unix_timestamp()
    }

    #[test]
    fn a_month_ends_on_the_same_day_of_the_next_month_or_its_last_day() {
        let m = PlanDuration::Months(1);
        let jan31 = unix(datetime!(2024-01-31 13:45 UTC));
        assert_eq!(
            m.add_to(jan31, 1),
            Ok(unix(datetime!(2024-02-29 13:45 UTC)))
        );
        assert_eq!(
            m.add_to(jan31, 2),
            Ok(unix(datetime!(2024-03-31 13:45 UTC)))
        );
        let dec15 = unix(datetime!(2025-12-15 0:00 UTC));
        assert_eq!(m.add_to(dec15, 1), Ok(unix(datetime!(2026-01-15 0:00 UTC))));
        assert_eq!(
            PlanDuration::Months(12).add_to(unix(datetime!(2024-02-29 0:00 UTC)), 1),
            Ok(unix(datetime!(2025-02-28 0:00 UTC)))
        );
    }

    #[test]
    fn days_are_exact_multiples_of_24_hours() {
        let t = unix(datetime!(2026-03-28 12:00 UTC));
        assert_eq!(PlanDuration::Days(30).add_to(t, 2), Ok(t + 60 * 86_400));
        assert_eq!(
            PlanDuration::Days(1).add_to(i64::MAX - 10, 1),
            Err(OutOfRange)
        );
        assert_eq!(
            PlanDuration::Months(u32::MAX).add_to(t, u32::MAX),
            Err(OutOfRange)
        );
    }

    proptest! {
        #[test]
        fn adding_months_in_one_step_or_per_year_agrees_and_moves_forward(
            start in 0i64..4_000_000_000, months in 1u32..24, q in 1u32..5,
        ) {
            let d = PlanDuration::Months(months);
            let end = d.add_to(start, q).unwrap();
            prop_assert!(end > start);
            prop_assert_eq!(end, PlanDuration::Months(months * q).add_to(start, 1).unwrap());
            // A month is 28 to 31 days.
            let span = end - start;
            let n = i64::from(months * q);
            prop_assert!(span >= n * 28 * 86_400 - 86_400 && span <= n * 31 * 86_400);
        }
    }
}
