//! Which media server a subscriber is placed on (operations §3.3 and §6.14, product §12.3, README
//! essential 5), as a pure function of the subscriber, the plan, the chosen location and the
//! servers.
//!
//! Order, first match wins:
//! 1. the server the subscriber shares now, then 2. the server of their pending invite, when it is
//!    enabled and accommodates the plan (holds libraries in every group of the plan, operations
//!    §1.7). Room is not required: the subscriber already occupies a slot there, so keeping them
//!    costs none (this is why the "never a full server" property excludes kept shares);
//! 3. a previous server (most recent first) that is *eligible*;
//! 4. among eligible servers: the plan's targets if any is eligible, then within those the chosen
//!    location if any is there, then the fewest users, ties broken by the lowest id so the result
//!    does not depend on the order servers are listed in.
//!
//! *Eligible* = enabled, *Allow new subscriptions* on (and for a trial plan *Allow trial
//! subscriptions* too, operations §6.15), a platform the subscriber has an identity for,
//! accommodates the plan, and has room: users below the configured maximum (default 100), and on
//! Plex friends + managed/home users below 99, where plex.tv refuses new shares (operations §5.4).

use crate::ids::{LibraryGroupId, LocationId, ServerId};
use crate::plans::Plan;
use crate::platform::Platform;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Users a server takes when no maximum is configured (operations §1.5).
pub const DEFAULT_MAX_USERS: u32 = 100;
/// plex.tv refuses a share once friends plus managed/home users reach this (operations §5.4).
pub const PLEX_SHARE_LIMIT: u32 = 99;

/// The error text of the reference product, misspelling kept (operations §5.9, README essential 24).
pub const NO_CAPACITY_TEXT: &str = "There are no servers with capacity that accomodate plan";

/// What selection needs to know about the subscriber.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// The server the subscriber currently shares.
    pub current_share: Option<ServerId>,
    /// A server whose invite the subscriber has not accepted yet.
    pub pending_invite: Option<ServerId>,
    /// Servers shared in the past, most recent first. Leave out a trial share when placing a paid
    /// plan (operations §6.15 (c)); it would not accommodate the paid plan anyway.
    pub previous_servers: Vec<ServerId>,
    /// The profile has a Plex e-mail.
    pub has_plex_identity: bool,
    /// The profile has an Emby/Jellyfin e-mail or username.
    pub has_emby_identity: bool,
}

impl Subscriber {
    fn can_use(&self, platform: Platform) -> bool {
        if platform.needs_plex_identity() {
            self.has_plex_identity
        } else {
            self.has_emby_identity
        }
    }
}

/// What selection needs to know about one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateServer {
    pub id: ServerId,
    pub enabled: bool,
    pub allow_new_subscriptions: bool,
    pub allow_trial_subscriptions: bool,
    /// Library groups this server holds at least one library of.
    pub library_group_ids: Vec<LibraryGroupId>,
    pub location: Option<LocationId>,
    /// Users sharing the server plus outstanding invites (an invite holds a slot).
    pub users: u32,
    /// *Maximum number of users*; `None` = [`DEFAULT_MAX_USERS`].
    pub max_users: Option<u32>,
    pub platform: Platform,
    /// Plex only: friends plus managed/home users on the owning account.
    pub plex_friends_and_home: u32,
}

impl CandidateServer {
    /// Holds libraries in every group of the plan (operations §1.7).
    pub fn accommodates(&self, plan: &Plan) -> bool {
        plan.library_group_ids
            .iter()
            .all(|g| self.library_group_ids.contains(g))
    }

    /// Can take one more user.
    pub fn has_room(&self) -> bool {
        let below_max = self.users < self.max_users.unwrap_or(DEFAULT_MAX_USERS);
        let below_plex =
            self.platform != Platform::Plex || self.plex_friends_and_home < PLEX_SHARE_LIMIT;
        below_max && below_plex
    }

    /// Open to this kind of subscription.
    pub fn open_to(&self, plan: &Plan) -> bool {
        self.enabled
            && self.allow_new_subscriptions
            && (!plan.is_trial || self.allow_trial_subscriptions)
    }

    /// May receive a new subscriber on this plan.
    pub fn is_eligible(&self, plan: &Plan, subscriber: &Subscriber) -> bool {
        self.open_to(plan)
            && subscriber.can_use(self.platform)
            && self.accommodates(plan)
            && self.has_room()
    }
}

/// Why a server was chosen: tells the caller whether anything must happen on the media server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectionReason {
    /// Rule 1: already shares it; only record the payment (and re-share libraries if they differ).
    KeepCurrentShare,
    /// Rule 2: already invited there; the subscriber accepts the invite they have.
    KeepPendingInvite,
    /// Rule 4: shared it before; add them back.
    PreviousServer,
    /// Rules 5–6: a new placement.
    NewPlacement {
        /// The server is one of the plan's targets.
        target: bool,
        /// The server is in the chosen location.
        in_location: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selected {
    pub server: ServerId,
    pub reason: SelectionReason,
}

/// The first condition of operations §5.9 that explains an empty result, for the admin
/// notification. The subscriber-facing text is the same whatever the cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoCapacityCause {
    NoServerEnabled,
    NoServerOpen,
    EveryServerFull,
    NoServerHoldsThePlansGroups,
    NoServerOnTheSubscribersPlatform,
}

impl fmt::Display for NoCapacityCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoCapacityCause::NoServerEnabled => "no server is enabled",
            NoCapacityCause::NoServerOpen => {
                "no enabled server allows new subscriptions (or, for a trial, trial subscriptions)"
            }
            NoCapacityCause::EveryServerFull => "every open server is full",
            NoCapacityCause::NoServerHoldsThePlansGroups => {
                "no open server with room holds libraries in every library group of the plan"
            }
            NoCapacityCause::NoServerOnTheSubscribersPlatform => {
                "the servers that fit are on a platform the subscriber has no account for"
            }
        })
    }
}

/// Nothing fits (operations §3.3 rule 7). `Display` is the reference's text followed by the plan
/// name; the spec quotes only the text, so the name's form (after one space, unquoted) is ours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{NO_CAPACITY_TEXT} {plan_name}")]
pub struct NoCapacity {
    pub plan_name: String,
    pub cause: NoCapacityCause,
}

/// Operations §3.3. See the module doc for the order of the rules.
pub fn select_server(
    subscriber: &Subscriber,
    plan: &Plan,
    location: Option<LocationId>,
    servers: &[CandidateServer],
) -> Result<Selected, NoCapacity> {
    let find = |id: ServerId| servers.iter().find(|s| s.id == id);
    let keepable = |id: Option<ServerId>| {
        id.and_then(find)
            .filter(|s| s.enabled && s.accommodates(plan))
    };
    if let Some(s) = keepable(subscriber.current_share) {
        return Ok(Selected {
            server: s.id,
            reason: SelectionReason::KeepCurrentShare,
        });
    }
    if let Some(s) = keepable(subscriber.pending_invite) {
        return Ok(Selected {
            server: s.id,
            reason: SelectionReason::KeepPendingInvite,
        });
    }
    if let Some(s) = subscriber
        .previous_servers
        .iter()
        .filter_map(|id| find(*id))
        .find(|s| s.is_eligible(plan, subscriber))
    {
        return Ok(Selected {
            server: s.id,
            reason: SelectionReason::PreviousServer,
        });
    }

    let pool: Vec<&CandidateServer> = servers
        .iter()
        .filter(|s| s.is_eligible(plan, subscriber))
        .collect();
    let pool = prefer(pool, |s| plan.target_server_ids.contains(&s.id));
    let pool = prefer(pool, |s| location.is_some() && s.location == location);
    match pool.into_iter().min_by_key(|s| (s.users, s.id)) {
        Some(s) => Ok(Selected {
            server: s.id,
            reason: SelectionReason::NewPlacement {
                target: plan.target_server_ids.contains(&s.id),
                in_location: location.is_some() && s.location == location,
            },
        }),
        None => Err(NoCapacity {
            plan_name: plan.name.clone(),
            cause: diagnose(subscriber, plan, servers),
        }),
    }
}

/// The subset matching `pred` when it is not empty, else the whole pool (operations §3.3).
fn prefer(
    pool: Vec<&CandidateServer>,
    pred: impl Fn(&CandidateServer) -> bool,
) -> Vec<&CandidateServer> {
    let preferred: Vec<&CandidateServer> = pool.iter().copied().filter(|s| pred(s)).collect();
    if preferred.is_empty() {
        pool
    } else {
        preferred
    }
}

/// Narrows the servers condition by condition in the order of operations §5.9.
fn diagnose(subscriber: &Subscriber, plan: &Plan, servers: &[CandidateServer]) -> NoCapacityCause {
    let enabled: Vec<_> = servers.iter().filter(|s| s.enabled).collect();
    let open: Vec<_> = enabled.iter().filter(|s| s.open_to(plan)).collect();
    let roomy: Vec<_> = open.iter().filter(|s| s.has_room()).collect();
    let fitting: Vec<_> = roomy.iter().filter(|s| s.accommodates(plan)).collect();
    if enabled.is_empty() {
        NoCapacityCause::NoServerEnabled
    } else if open.is_empty() {
        NoCapacityCause::NoServerOpen
    } else if roomy.is_empty() {
        NoCapacityCause::EveryServerFull
    } else if fitting.is_empty() {
        NoCapacityCause::NoServerHoldsThePlansGroups
    } else {
        debug_assert!(!fitting.iter().any(|s| subscriber.can_use(s.platform)));
        NoCapacityCause::NoServerOnTheSubscribersPlatform
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::tests::plan;
    use proptest::prelude::*;

    const STANDARD: LibraryGroupId = 2;
    const UHD: LibraryGroupId = 3;
    const TRIAL: LibraryGroupId = 4;

    fn server(id: ServerId, users: u32) -> CandidateServer {
        CandidateServer {
            id,
            enabled: true,
            allow_new_subscriptions: true,
            allow_trial_subscriptions: false,
            library_group_ids: vec![STANDARD],
            location: None,
            users,
            max_users: None,
            platform: Platform::Plex,
            plex_friends_and_home: users,
        }
    }

    fn plex_user() -> Subscriber {
        Subscriber {
            has_plex_identity: true,
            ..Subscriber::default()
        }
    }

    #[test]
    fn the_current_share_is_kept_when_it_holds_every_group_of_the_plan() {
        let user = Subscriber {
            current_share: Some(1),
            ..plex_user()
        };
        let servers = [server(1, 100), server(2, 0)];
        assert_eq!(
            select_server(&user, &plan("Standard"), None, &servers),
            Ok(Selected {
                server: 1,
                reason: SelectionReason::KeepCurrentShare
            })
        );
    }

    #[test]
    fn a_pending_invite_lacking_a_group_of_the_plan_falls_through() {
        // operations §9 scenario 5.
        let user = Subscriber {
            pending_invite: Some(1),
            ..plex_user()
        };
        let mut b = server(2, 50);
        b.library_group_ids = vec![STANDARD, UHD];
        let premium = Plan {
            library_group_ids: vec![STANDARD, UHD],
            ..plan("Premium 4K")
        };
        let got = select_server(&user, &premium, None, &[server(1, 10), b]).unwrap();
        assert_eq!(got.server, 2);
    }

    #[test]
    fn the_least_loaded_server_in_the_chosen_location_wins() {
        // operations §9 scenario 6.
        let mut a = server(1, 40);
        a.location = Some(7);
        let mut b = server(2, 55);
        b.location = Some(7);
        let c = server(3, 10);
        let got = select_server(&plex_user(), &plan("Standard"), Some(7), &[c, b, a]).unwrap();
        assert_eq!(
            got,
            Selected {
                server: 1,
                reason: SelectionReason::NewPlacement {
                    target: false,
                    in_location: true
                }
            }
        );
    }

    #[test]
    fn a_trial_lands_on_the_only_server_that_allows_trials() {
        // operations §9 scenario 7 and §6.15.
        let mut t = server(9, 90);
        t.allow_trial_subscriptions = true;
        t.library_group_ids = vec![TRIAL];
        let trial = Plan {
            is_trial: true,
            library_group_ids: vec![TRIAL],
            ..plan("Trial")
        };
        let got = select_server(&plex_user(), &trial, None, &[server(1, 0), t.clone()]);
        assert_eq!(got.unwrap().server, 9);
        // Paying later moves them off the trial server.
        let user = Subscriber {
            current_share: Some(9),
            previous_servers: vec![9],
            ..plex_user()
        };
        let got = select_server(&user, &plan("Standard"), None, &[server(1, 0), t]);
        assert_eq!(got.unwrap().server, 1);
    }

    #[test]
    fn a_target_server_is_preferred_over_an_emptier_one() {
        let p = Plan {
            target_server_ids: vec![2],
            ..plan("Standard")
        };
        let got = select_server(&plex_user(), &p, None, &[server(1, 0), server(2, 80)]);
        assert_eq!(got.unwrap().server, 2);
    }

    #[test]
    fn a_previous_server_with_room_is_chosen_again() {
        let user = Subscriber {
            previous_servers: vec![2],
            ..plex_user()
        };
        let got = select_server(
            &user,
            &plan("Standard"),
            None,
            &[server(1, 0), server(2, 80)],
        );
        assert_eq!(got.unwrap().reason, SelectionReason::PreviousServer);
    }

    #[test]
    fn plex_refuses_at_99_friends_and_home_users() {
        let mut s = server(1, 10);
        s.plex_friends_and_home = 99;
        let err = select_server(&plex_user(), &plan("Basic"), None, &[s]).unwrap_err();
        assert_eq!(err.cause, NoCapacityCause::EveryServerFull);
        let mut emby = server(2, 99);
        emby.platform = Platform::Emby;
        emby.plex_friends_and_home = 500;
        let user = Subscriber {
            has_emby_identity: true,
            ..plex_user()
        };
        assert_eq!(
            select_server(&user, &plan("Basic"), None, &[emby])
                .unwrap()
                .server,
            2
        );
    }

    #[test]
    fn when_all_servers_are_full_the_reference_error_names_the_plan() {
        // operations §9 scenario 8.
        let err = select_server(&plex_user(), &plan("Basic"), None, &[server(1, 100)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "There are no servers with capacity that accomodate plan Basic"
        );
        assert_eq!(err.cause, NoCapacityCause::EveryServerFull);
    }

    #[test]
    fn the_admin_learns_why_nothing_fits() {
        let cause = |servers: &[CandidateServer], user: &Subscriber| {
            select_server(user, &plan("Basic"), None, servers)
                .unwrap_err()
                .cause
        };
        let mut off = server(1, 0);
        off.enabled = false;
        assert_eq!(cause(&[], &plex_user()), NoCapacityCause::NoServerEnabled);
        assert_eq!(
            cause(&[off.clone()], &plex_user()),
            NoCapacityCause::NoServerEnabled
        );
        let mut closed = server(1, 0);
        closed.allow_new_subscriptions = false;
        assert_eq!(
            cause(&[closed], &plex_user()),
            NoCapacityCause::NoServerOpen
        );
        let mut uhd_only = server(1, 0);
        uhd_only.library_group_ids = vec![UHD];
        assert_eq!(
            cause(&[uhd_only], &plex_user()),
            NoCapacityCause::NoServerHoldsThePlansGroups
        );
        assert_eq!(
            cause(&[server(1, 0)], &Subscriber::default()),
            NoCapacityCause::NoServerOnTheSubscribersPlatform
        );
    }

    fn arb_server(id: ServerId) -> impl Strategy<Value = CandidateServer> {
        (
            any::<[bool; 3]>(),
            prop::collection::vec(1i64..5, 0..4),
            prop::option::of(0i64..3),
            0u32..120,
            prop::option::of(0u32..120),
            prop::sample::select(vec![Platform::Plex, Platform::Emby, Platform::Jellyfin]),
            0u32..120,
        )
            .prop_map(
                move |([enabled, open, trial], groups, location, users, max, platform, friends)| {
                    CandidateServer {
                        id,
                        enabled,
                        allow_new_subscriptions: open,
                        allow_trial_subscriptions: trial,
                        library_group_ids: groups,
                        location,
                        users,
                        max_users: max,
                        platform,
                        plex_friends_and_home: friends,
                    }
                },
            )
    }

    fn arb_case()
    -> impl Strategy<Value = (Subscriber, Plan, Option<LocationId>, Vec<CandidateServer>)> {
        let servers = (0usize..8).prop_flat_map(|n| {
            (0..n)
                .map(|i| arb_server(i as ServerId).boxed())
                .collect::<Vec<_>>()
        });
        let subscriber = (
            prop::option::of(0i64..10),
            prop::option::of(0i64..10),
            prop::collection::vec(0i64..10, 0..3),
            any::<[bool; 2]>(),
        )
            .prop_map(|(share, invite, previous, [plex, emby])| Subscriber {
                current_share: share,
                pending_invite: invite,
                previous_servers: previous,
                has_plex_identity: plex,
                has_emby_identity: emby,
            });
        let p = (
            prop::collection::vec(1i64..5, 1..3),
            prop::collection::vec(0i64..10, 0..3),
            any::<bool>(),
        )
            .prop_map(|(groups, targets, trial)| Plan {
                library_group_ids: groups,
                target_server_ids: targets,
                is_trial: trial,
                ..plan("P")
            });
        (subscriber, p, prop::option::of(0i64..3), servers)
    }

    proptest! {
        #[test]
        fn selection_obeys_operations_3_3((user, p, location, servers) in arb_case()) {
            let eligible: Vec<&CandidateServer> =
                servers.iter().filter(|s| s.is_eligible(&p, &user)).collect();
            let keepable = |id: Option<ServerId>| {
                servers.iter().any(|s| Some(s.id) == id && s.enabled && s.accommodates(&p))
            };
            match select_server(&user, &p, location, &servers) {
                Ok(Selected { server, reason }) => {
                    let s = servers.iter().find(|s| s.id == server);
                    prop_assert!(s.is_some(), "the result is one of the candidates");
                    let s = s.unwrap();
                    prop_assert!(s.enabled && s.accommodates(&p), "never a disabled server nor one missing a group");
                    match reason {
                        SelectionReason::KeepCurrentShare => {
                            prop_assert_eq!(Some(server), user.current_share);
                        }
                        SelectionReason::KeepPendingInvite => {
                            prop_assert_eq!(Some(server), user.pending_invite);
                            prop_assert!(!keepable(user.current_share));
                        }
                        SelectionReason::PreviousServer | SelectionReason::NewPlacement { .. } => {
                            prop_assert!(!keepable(user.current_share) && !keepable(user.pending_invite));
                            prop_assert!(s.is_eligible(&p, &user), "new placements only on open servers with room");
                            prop_assert!(s.has_room());
                        }
                    }
                    if let SelectionReason::NewPlacement { target, .. } = reason {
                        let any_target = eligible.iter().any(|e| p.target_server_ids.contains(&e.id));
                        prop_assert_eq!(target, any_target, "a target is chosen whenever one qualifies");
                        // Fewest users among the servers that tie on the preferences.
                        let same_tier = |e: &&&CandidateServer| {
                            p.target_server_ids.contains(&e.id) == target
                                && (location.is_some() && e.location == location) == (location.is_some() && s.location == location)
                        };
                        prop_assert!(eligible.iter().filter(same_tier).all(|e| (e.users, e.id) >= (s.users, s.id)));
                    }
                }
                Err(e) => {
                    prop_assert!(eligible.is_empty(), "NoCapacity only when no server qualifies");
                    prop_assert!(!keepable(user.current_share) && !keepable(user.pending_invite));
                    prop_assert!(e.to_string().starts_with(NO_CAPACITY_TEXT));
                }
            }
            if keepable(user.current_share) {
                prop_assert_eq!(
                    select_server(&user, &p, location, &servers).map(|s| s.reason),
                    Ok(SelectionReason::KeepCurrentShare),
                    "the current share is kept whenever it qualifies"
                );
            }
        }
    }
}
