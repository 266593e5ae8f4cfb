//! Whether the users of one server may be moved to another: the preconditions of operations
//! §4.1.3 (README essential 21), checked before the migration job starts so the admin gets every
//! blocking reason at once instead of a job that fails user by user.
//!
//! Checked (operations §4.1.3 item → here):
//! - 2: the target is enabled and allows new subscriptions;
//! - 3–4: the target accommodates every plan the source accommodates (same library groups);
//! - 5: downloads on any of those plans need Plex Pass on the target's Plex account / Emby Premiere;
//! - 6: a move between Plex and Emby/Jellyfin needs every user to have an identity on the target
//!   platform;
//! - capacity is a warning, not a blocker (users that do not fit are reported as failures).
//!
//! Not checked: item 1 and the licence half of item 6 are about the reference product's paid
//! tiers (servers and platforms per subscription); self-hosted boxoffice has no such tiers.

use crate::ids::{LibraryGroupId, ServerId};
use crate::plans::Plan;
use crate::platform::Platform;
use crate::selection::DEFAULT_MAX_USERS;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the check needs to know about the source or the target server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationServer {
    pub id: ServerId,
    pub name: String,
    pub platform: Platform,
    pub enabled: bool,
    pub allow_new_subscriptions: bool,
    /// Library groups this server holds at least one library of.
    pub library_group_ids: Vec<LibraryGroupId>,
    /// Plex: the owning Plex account is flagged *Has Plex Pass*.
    pub owner_has_plex_pass: bool,
    /// Emby: the server is flagged *Has Emby Premiere*.
    pub has_emby_premiere: bool,
    /// Users sharing the server plus outstanding invites.
    pub users: u32,
    /// `None` = the default of 100.
    pub max_users: Option<u32>,
}

impl MigrationServer {
    fn accommodates(&self, plan: &Plan) -> bool {
        plan.library_group_ids
            .iter()
            .all(|g| self.library_group_ids.contains(g))
    }
}

/// One user on the source server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigratingUser {
    /// How the admin recognises the user in a message (e-mail or username).
    pub label: String,
    pub has_plex_identity: bool,
    pub has_emby_identity: bool,
}

/// The rest of what the check needs.
#[derive(Clone, Copy, Debug)]
pub struct MigrationContext<'a> {
    /// The plans held by the source's users (or simply every plan); only those the source
    /// accommodates matter, since the others cannot be served from it.
    pub plans: &'a [Plan],
    pub users: &'a [MigratingUser],
    /// Names for library groups in messages; an unknown id is shown as `#id`.
    pub group_names: &'a [(LibraryGroupId, String)],
}

/// A reason the migration cannot start; `Display` says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum MigrationBlocker {
    #[error("the source and the target are the same server")]
    SameServer,
    #[error("the target server \"{target}\" is disabled: enable it first")]
    TargetDisabled { target: String },
    #[error("the target server \"{target}\" does not allow new subscriptions: turn that on first")]
    TargetClosed { target: String },
    #[error(
        "plan \"{plan}\" cannot be served from \"{target}\": it has no libraries in {}; assign libraries to those groups on the target",
        missing.join(", ")
    )]
    PlanNotAccommodated {
        plan: String,
        target: String,
        missing: Vec<String>,
    },
    #[error(
        "plans {} allow downloads, which on \"{target}\" need {licence}: flag it or turn downloads off",
        plans.join(", ")
    )]
    DownloadsNeedLicence {
        target: String,
        licence: String,
        plans: Vec<String>,
    },
    #[error(
        "moving to {platform} needs every user's {platform} e-mail or username; missing for {}",
        UserList(users)
    )]
    UsersWithoutIdentity {
        platform: Platform,
        users: Vec<String>,
    },
}

/// Worth knowing, but the migration may start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum MigrationWarning {
    #[error(
        "\"{target}\" has room for {free} more users but {moving} are moving; those that do not fit will be reported as failed"
    )]
    NotEnoughRoom {
        target: String,
        free: u32,
        moving: u32,
    },
}

/// Every blocker and warning for moving the users of `source` to `target`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationCheck {
    pub blockers: Vec<MigrationBlocker>,
    pub warnings: Vec<MigrationWarning>,
}

impl MigrationCheck {
    pub fn may_start(&self) -> bool {
        self.blockers.is_empty()
    }
}

/// Operations §4.1.3 as a pure check; see the module doc for what is checked.
pub fn check_migration(
    source: &MigrationServer,
    target: &MigrationServer,
    ctx: &MigrationContext<'_>,
) -> MigrationCheck {
    let mut check = MigrationCheck::default();
    let blockers = &mut check.blockers;
    if source.id == target.id {
        blockers.push(MigrationBlocker::SameServer);
    }
    if !target.enabled {
        blockers.push(MigrationBlocker::TargetDisabled {
            target: target.name.clone(),
        });
    }
    if !target.allow_new_subscriptions {
        blockers.push(MigrationBlocker::TargetClosed {
            target: target.name.clone(),
        });
    }

    let served: Vec<&Plan> = ctx
        .plans
        .iter()
        .filter(|p| source.accommodates(p))
        .collect();
    for plan in &served {
        let missing: Vec<String> = plan
            .library_group_ids
            .iter()
            .filter(|g| !target.library_group_ids.contains(g))
            .map(|g| group_name(ctx, *g))
            .collect();
        if !missing.is_empty() {
            blockers.push(MigrationBlocker::PlanNotAccommodated {
                plan: plan.name.clone(),
                target: target.name.clone(),
                missing,
            });
        }
    }

    let licence = match target.platform {
        Platform::Plex if !target.owner_has_plex_pass => {
            Some("Plex Pass on the owning Plex account, flagged Has Plex Pass")
        }
        Platform::Emby if !target.has_emby_premiere => {
            Some("Emby Premiere, flagged Has Emby Premiere")
        }
        _ => None,
    };
    let downloading: Vec<String> = served
        .iter()
        .filter(|p| p.downloads_allowed)
        .map(|p| format!("\"{}\"", p.name))
        .collect();
    if let (Some(licence), false) = (licence, downloading.is_empty()) {
        blockers.push(MigrationBlocker::DownloadsNeedLicence {
            target: target.name.clone(),
            licence: licence.into(),
            plans: downloading,
        });
    }

    // Emby and Jellyfin both use the Emby/Jellyfin identity; only a Plex boundary needs another.
    let needs_plex = target.platform.needs_plex_identity();
    if needs_plex != source.platform.needs_plex_identity() {
        let users: Vec<String> = ctx
            .users
            .iter()
            .filter(|u| {
                if needs_plex {
                    !u.has_plex_identity
                } else {
                    !u.has_emby_identity
                }
            })
            .map(|u| u.label.clone())
            .collect();
        if !users.is_empty() {
            blockers.push(MigrationBlocker::UsersWithoutIdentity {
                platform: target.platform,
                users,
            });
        }
    }

    let free = target
        .max_users
        .unwrap_or(DEFAULT_MAX_USERS)
        .saturating_sub(target.users);
    let moving = u32::try_from(ctx.users.len()).unwrap_or(u32::MAX);
    if source.id != target.id && moving > free {
        check.warnings.push(MigrationWarning::NotEnoughRoom {
            target: target.name.clone(),
            free,
            moving,
        });
    }
    check
}

fn group_name(ctx: &MigrationContext<'_>, id: LibraryGroupId) -> String {
    ctx.group_names
        .iter()
        .find(|(g, _)| *g == id)
        .map_or_else(|| format!("#{id}"), |(_, n)| format!("\"{n}\""))
}

/// The first ten labels and how many more, so one bad import does not produce a page of names.
struct UserList<'a>(&'a [String]);

impl fmt::Display for UserList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        let shown = self.0.iter().take(SHOWN).cloned().collect::<Vec<_>>();
        f.write_str(&shown.join(", "))?;
        if self.0.len() > SHOWN {
            write!(f, " and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::tests::plan;

    const STANDARD: LibraryGroupId = 2;
    const UHD: LibraryGroupId = 3;
    const TRIAL: LibraryGroupId = 4;

    fn server(id: ServerId, name: &str, platform: Platform) -> MigrationServer {
        MigrationServer {
            id,
            name: name.into(),
            platform,
            enabled: true,
            allow_new_subscriptions: true,
            library_group_ids: vec![STANDARD, UHD],
            owner_has_plex_pass: true,
            has_emby_premiere: true,
            users: 0,
            max_users: None,
        }
    }

    fn user(label: &str, plex: bool, emby: bool) -> MigratingUser {
        MigratingUser {
            label: label.into(),
            has_plex_identity: plex,
            has_emby_identity: emby,
        }
    }

    fn plans() -> Vec<Plan> {
        vec![
            plan("Standard"),
            Plan {
                library_group_ids: vec![STANDARD, UHD],
                downloads_allowed: true,
                ..plan("Premium 4K")
            },
            // Served from a trial-only server, not from the source: must not block.
            Plan {
                library_group_ids: vec![TRIAL],
                ..plan("Trial")
            },
        ]
    }

    static GROUP_NAMES: std::sync::LazyLock<Vec<(LibraryGroupId, String)>> =
        std::sync::LazyLock::new(|| vec![(UHD, String::from("Premium 4K"))]);

    fn ctx<'a>(plans: &'a [Plan], users: &'a [MigratingUser]) -> MigrationContext<'a> {
        MigrationContext {
            plans,
            users,
            group_names: &GROUP_NAMES,
        }
    }

    #[test]
    fn a_compatible_open_target_may_receive_the_users() {
        let plans = plans();
        let users = [user("ann@example.com", true, false)];
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &server(2, "new", Platform::Plex),
            &ctx(&plans, &users),
        );
        assert!(check.may_start(), "{check:?}");
        assert!(check.warnings.is_empty());
    }

    #[test]
    fn the_target_must_be_enabled_and_open_to_new_subscriptions() {
        let mut target = server(2, "new", Platform::Plex);
        target.enabled = false;
        target.allow_new_subscriptions = false;
        let plans = plans();
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &target,
            &ctx(&plans, &[]),
        );
        let messages: Vec<String> = check.blockers.iter().map(|b| b.to_string()).collect();
        assert_eq!(
            messages,
            [
                "the target server \"new\" is disabled: enable it first",
                "the target server \"new\" does not allow new subscriptions: turn that on first"
            ]
        );
    }

    #[test]
    fn a_target_without_premium_4k_libraries_cannot_serve_the_4k_plan() {
        // operations §4.1.3 item 4's example.
        let mut target = server(2, "new", Platform::Plex);
        target.library_group_ids = vec![STANDARD];
        let plans = plans();
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &target,
            &ctx(&plans, &[]),
        );
        assert_eq!(
            check
                .blockers
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>(),
            [
                "plan \"Premium 4K\" cannot be served from \"new\": it has no libraries in \"Premium 4K\"; assign libraries to those groups on the target"
            ]
        );
    }

    #[test]
    fn downloads_need_plex_pass_or_emby_premiere_on_the_target() {
        let plans = plans();
        let mut plex = server(2, "new", Platform::Plex);
        plex.owner_has_plex_pass = false;
        let mut emby = server(3, "emby", Platform::Emby);
        emby.has_emby_premiere = false;
        let jellyfin = server(4, "jelly", Platform::Jellyfin);
        let source = server(1, "old", Platform::Emby);
        let users = [user("ann@example.com", true, true)];
        let blocked = |t: &MigrationServer| {
            check_migration(&source, t, &ctx(&plans, &users))
                .blockers
                .iter()
                .any(|b| matches!(b, MigrationBlocker::DownloadsNeedLicence { .. }))
        };
        assert!(blocked(&plex));
        assert!(blocked(&emby));
        assert!(!blocked(&jellyfin));
    }

    #[test]
    fn moving_between_plex_and_emby_needs_both_identities() {
        let plans = plans();
        let users = [
            user("ann@example.com", true, true),
            user("bob@example.com", true, false),
        ];
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &server(2, "new", Platform::Emby),
            &ctx(&plans, &users),
        );
        assert_eq!(
            check.blockers,
            [MigrationBlocker::UsersWithoutIdentity {
                platform: Platform::Emby,
                users: vec!["bob@example.com".into()]
            }]
        );
        assert_eq!(
            check.blockers[0].to_string(),
            "moving to Emby needs every user's Emby e-mail or username; missing for bob@example.com"
        );
        // Emby → Jellyfin keeps the same identity.
        let check = check_migration(
            &server(1, "old", Platform::Emby),
            &server(2, "new", Platform::Jellyfin),
            &ctx(&plans, &users),
        );
        assert!(check.may_start());
    }

    #[test]
    fn too_little_room_warns_but_does_not_block() {
        let plans = plans();
        let mut target = server(2, "new", Platform::Plex);
        target.users = 99;
        let users = [user("a", true, false), user("b", true, false)];
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &target,
            &ctx(&plans, &users),
        );
        assert!(check.may_start());
        assert_eq!(
            check.warnings,
            [MigrationWarning::NotEnoughRoom {
                target: "new".into(),
                free: 1,
                moving: 2
            }]
        );
    }

    #[test]
    fn every_blocking_reason_is_reported_at_once() {
        let plans = plans();
        let mut target = server(1, "old", Platform::Emby);
        target.enabled = false;
        target.library_group_ids = vec![STANDARD];
        target.has_emby_premiere = false;
        let many: Vec<MigratingUser> = (0..12)
            .map(|i| user(&format!("u{i}"), true, false))
            .collect();
        let check = check_migration(
            &server(1, "old", Platform::Plex),
            &target,
            &ctx(&plans, &many),
        );
        assert_eq!(check.blockers.len(), 5, "{:?}", check.blockers);
        assert!(check.blockers[4].to_string().ends_with("u9 and 2 more"));
    }
}
