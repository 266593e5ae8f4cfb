//! The store conformance suite: every story runs on SQLite and, when TEST_DATABASE_URL is set, on
//! PostgreSQL, against a fresh database each.

use boxoffice_domain::permission::{Permission, RoleKind};
use boxoffice_store::jobs::{Enqueued, NewJob};
use boxoffice_store::logins::NewLogin;
use boxoffice_store::{
    StoreError, idempotency, jobs, logins, roles, schedules, settings, testing, throttle, tokens,
    totp,
};

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(boxoffice_store::Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in testing::all().await.expect("test databases") {
        eprintln!("backend: {}", t.db.backend().name());
        f(t.db.clone()).await;
    }
}

async fn admin(db: &boxoffice_store::Db, email: &str) -> logins::Login {
    let role = roles::find_builtin(db.ex(), RoleKind::Administrator)
        .await
        .unwrap();
    logins::insert(
        db.ex(),
        NewLogin {
            email,
            email_key: &email.to_lowercase(),
            password_hash: "x",
            role_id: role.id,
            email_confirmed: true,
            now: 100,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_missing_login_is_not_found_and_a_duplicate_is_a_conflict() {
    each_backend(|db| async move {
        assert!(matches!(
            logins::find_by_email_key(db.ex(), "nobody@example.com").await,
            Err(StoreError::NotFound)
        ));
        admin(&db, "Ann@example.com").await;
        let role = roles::find_builtin(db.ex(), RoleKind::User).await.unwrap();
        let dup = logins::insert(
            db.ex(),
            NewLogin {
                email: "ANN@example.com",
                email_key: "ann@example.com",
                password_hash: "y",
                role_id: role.id,
                email_confirmed: false,
                now: 1,
            },
        )
        .await;
        assert!(dup.unwrap_err().is_conflict());
        assert_eq!(logins::count_administrators(db.ex()).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_closed_database_is_a_failure_not_a_missing_row() {
    each_backend(|db| async move {
        db.close().await;
        let e = logins::find_by_email_key(db.ex(), "ann@example.com")
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    })
    .await;
}

#[tokio::test]
async fn built_in_roles_are_immutable_and_custom_roles_hold_their_permissions() {
    each_backend(|db| async move {
        let admin_role = roles::find_builtin(db.ex(), RoleKind::Administrator)
            .await
            .unwrap();
        assert_eq!(admin_role.permissions.len(), Permission::ALL.len());
        assert!(
            roles::set_permissions(db.ex(), admin_role.id, &[])
                .await
                .unwrap_err()
                .is_not_found()
        );
        let staff = roles::create_custom(db.ex(), "Support", &[Permission::UsersRead], 1)
            .await
            .unwrap();
        roles::set_permissions(
            db.ex(),
            staff.id,
            &[Permission::UsersRead, Permission::PaymentsRead],
        )
        .await
        .unwrap();
        assert_eq!(
            roles::find(db.ex(), staff.id).await.unwrap().permissions,
            vec![Permission::UsersRead, Permission::PaymentsRead]
        );
    })
    .await;
}

#[tokio::test]
async fn a_totp_time_step_is_accepted_once() {
    each_backend(|db| async move {
        let l = admin(&db, "a@example.com").await;
        totp::put_pending(db.ex(), l.id, "enc").await.unwrap();
        assert!(totp::use_step(db.ex(), l.id, 1000, Some(5)).await.unwrap());
        assert!(
            !totp::use_step(db.ex(), l.id, 1000, None).await.unwrap(),
            "same step twice"
        );
        assert!(
            !totp::use_step(db.ex(), l.id, 999, None).await.unwrap(),
            "an older step"
        );
        assert!(totp::use_step(db.ex(), l.id, 1001, None).await.unwrap());
        assert_eq!(
            totp::find(db.ex(), l.id).await.unwrap().confirmed_at,
            Some(5)
        );
        totp::replace_recovery_codes(db.ex(), l.id, &["h1".into(), "h2".into()])
            .await
            .unwrap();
        assert!(
            totp::use_recovery_code(db.ex(), l.id, "h1", 9)
                .await
                .unwrap()
        );
        assert!(
            !totp::use_recovery_code(db.ex(), l.id, "h1", 9)
                .await
                .unwrap()
        );
        assert_eq!(
            totp::count_unused_recovery_codes(db.ex(), l.id)
                .await
                .unwrap(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn one_time_tokens_work_once_and_not_after_expiry() {
    each_backend(|db| async move {
        tokens::insert_email_token(db.ex(), None, "setup", "hash", 10, 20)
            .await
            .unwrap();
        assert!(
            tokens::consume_email_token(db.ex(), "hash", "setup", 21)
                .await
                .unwrap_err()
                .is_not_found(),
            "expired"
        );
        tokens::insert_email_token(db.ex(), None, "setup", "hash2", 10, 20)
            .await
            .unwrap();
        assert!(
            tokens::consume_email_token(db.ex(), "hash2", "reset", 11)
                .await
                .is_err(),
            "wrong purpose"
        );
        tokens::consume_email_token(db.ex(), "hash2", "setup", 11)
            .await
            .unwrap();
        assert!(
            tokens::consume_email_token(db.ex(), "hash2", "setup", 12)
                .await
                .unwrap_err()
                .is_not_found(),
            "used"
        );
    })
    .await;
}

#[tokio::test]
async fn enqueueing_the_same_idempotency_key_twice_gives_the_first_job() {
    each_backend(|db| async move {
        let j = || NewJob {
            kind: "k",
            payload: "{}",
            idempotency_key: Some("once"),
            run_after: 0,
            max_attempts: 3,
        };
        let a = jobs::enqueue(db.ex(), j(), 1).await.unwrap();
        let b = jobs::enqueue(db.ex(), j(), 2).await.unwrap();
        assert!(matches!(a, Enqueued::Created(_)));
        assert_eq!(b, Enqueued::Existing(a.id()));
    })
    .await;
}

#[tokio::test]
async fn a_lost_lease_hands_the_job_to_the_next_worker_and_the_old_one_cannot_finish_it() {
    each_backend(|db| async move {
        let id = jobs::enqueue(
            db.ex(),
            NewJob {
                kind: "k",
                payload: "{}",
                idempotency_key: None,
                run_after: 10,
                max_attempts: 3,
            },
            1,
        )
        .await
        .unwrap()
        .id();
        assert!(
            jobs::claim(db.ex(), 9, 100, "a").await.unwrap().is_none(),
            "not yet due"
        );
        let first = jobs::claim(db.ex(), 10, 100, "a").await.unwrap().unwrap();
        assert_eq!((first.id, first.attempts), (id, 1));
        assert!(
            jobs::claim(db.ex(), 50, 150, "b").await.unwrap().is_none(),
            "leased"
        );
        let second = jobs::claim(db.ex(), 100, 200, "b").await.unwrap().unwrap();
        assert_eq!(second.attempts, 2);
        assert!(
            !jobs::complete(db.ex(), id, "a", 101).await.unwrap(),
            "stale worker"
        );
        assert!(jobs::complete(db.ex(), id, "b", 101).await.unwrap());
        assert_eq!(jobs::find(db.ex(), id).await.unwrap().state, "done");
    })
    .await;
}

#[tokio::test]
async fn failed_jobs_wait_for_their_retry_and_dead_jobs_keep_their_error() {
    each_backend(|db| async move {
        let id = jobs::enqueue(
            db.ex(),
            NewJob {
                kind: "k",
                payload: "{}",
                idempotency_key: None,
                run_after: 0,
                max_attempts: 2,
            },
            0,
        )
        .await
        .unwrap()
        .id();
        jobs::claim(db.ex(), 0, 60, "t1").await.unwrap().unwrap();
        assert!(
            jobs::retry_later(db.ex(), id, "t1", 1, 30, "HTTP 503")
                .await
                .unwrap()
        );
        assert!(jobs::claim(db.ex(), 29, 90, "t2").await.unwrap().is_none());
        jobs::claim(db.ex(), 30, 90, "t2").await.unwrap().unwrap();
        assert!(
            jobs::bury(db.ex(), id, "t2", 31, "HTTP 503 again")
                .await
                .unwrap()
        );
        let j = jobs::find(db.ex(), id).await.unwrap();
        assert_eq!(
            (j.state.as_str(), j.last_error.as_deref()),
            ("dead", Some("HTTP 503 again"))
        );
        jobs::requeue_dead(db.ex(), id, 40).await.unwrap();
        assert_eq!(
            jobs::claim(db.ex(), 40, 100, "t3")
                .await
                .unwrap()
                .unwrap()
                .attempts,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_schedule_tick_is_taken_once() {
    each_backend(|db| async move {
        schedules::ensure(db.ex(), "purge", 60).await.unwrap();
        schedules::ensure(db.ex(), "purge", 999).await.unwrap();
        assert!(
            schedules::take_tick(db.ex(), "purge", 60, 120, 61)
                .await
                .unwrap()
        );
        assert!(
            !schedules::take_tick(db.ex(), "purge", 60, 120, 61)
                .await
                .unwrap(),
            "second instance"
        );
        assert_eq!(schedules::all(db.ex()).await.unwrap()[0].next_run_at, 120);
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_saved_answer() {
    each_backend(|db| async move {
        let begin = |h: &'static str, now: i64| {
            let db = db.clone();
            async move {
                idempotency::begin(db.ex(), "s", "k", h, now, 0)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(begin("h1", 1).await, idempotency::Begin::Started);
        assert_eq!(begin("h1", 2).await, idempotency::Begin::InFlight);
        assert_eq!(begin("h2", 2).await, idempotency::Begin::Mismatch);
        idempotency::complete(db.ex(), "s", "k", 201, "{\"id\":1}")
            .await
            .unwrap();
        assert_eq!(
            begin("h1", 3).await,
            idempotency::Begin::Done {
                status: 201,
                body: "{\"id\":1}".into()
            }
        );
        // A claim whose request died unfinished is taken over once it is older than the cut-off.
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k2", "h", 10, 0)
                .await
                .unwrap(),
            idempotency::Begin::Started
        );
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k2", "h", 20, 5)
                .await
                .unwrap(),
            idempotency::Begin::InFlight
        );
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k2", "h", 30, 11)
                .await
                .unwrap(),
            idempotency::Begin::Started
        );
    })
    .await;
}

#[tokio::test]
async fn settings_and_throttle_counters_round_trip() {
    each_backend(|db| async move {
        settings::put(db.ex(), "general.site_name", "Box", None, 1)
            .await
            .unwrap();
        settings::put(db.ex(), "general.site_name", "Box TV", None, 2)
            .await
            .unwrap();
        assert_eq!(
            settings::all(db.ex()).await.unwrap(),
            vec![("general.site_name".to_string(), "Box TV".to_string())]
        );
        let c = throttle::record_failure(db.ex(), "ip:1", 100, 900, |n| n * 10)
            .await
            .unwrap();
        assert_eq!((c.failures, c.locked_until), (1, 110));
        let c = throttle::record_failure(db.ex(), "ip:1", 105, 900, |n| n * 10)
            .await
            .unwrap();
        assert_eq!(c.failures, 2);
        let c = throttle::record_failure(db.ex(), "ip:1", 2000, 900, |n| n * 10)
            .await
            .unwrap();
        assert_eq!(c.failures, 1, "old failures are forgotten");
    })
    .await;
}

#[tokio::test]
async fn concurrent_takes_of_a_throttle_counter_are_counted_one_after_another() {
    each_backend(|db| async move {
        // Locks from the third attempt on: the first two pass, every later one finds the lock.
        let lock = |n: i64| if n >= 2 { 60 } else { 0 };
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let db = db.clone();
            set.spawn(async move {
                let mut tx = db.begin().await.unwrap();
                let t = throttle::take(tx.ex(), "ip:9", 1000, 900, lock)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                t
            });
        }
        let mut counted = 0;
        while let Some(t) = set.join_next().await {
            match t.unwrap() {
                throttle::Take::Counted(_) => counted += 1,
                throttle::Take::Locked { until } => assert_eq!(until, 1060),
            }
        }
        assert_eq!(counted, 2, "only the attempts before the lock are counted");
        let c = throttle::get(db.ex(), "ip:9").await.unwrap().unwrap();
        assert_eq!((c.failures, c.locked_until), (2, 1060));
        // Giving one back lowers the count and the lock with it.
        let mut tx = db.begin().await.unwrap();
        throttle::give_back(tx.ex(), "ip:9", lock).await.unwrap();
        tx.commit().await.unwrap();
        let c = throttle::get(db.ex(), "ip:9").await.unwrap().unwrap();
        assert_eq!((c.failures, c.locked_until), (1, 1000));
    })
    .await;
}

#[tokio::test]
async fn a_transaction_rolls_back_when_dropped() {
    each_backend(|db| async move {
        {
            let mut tx = db.begin().await.unwrap();
            settings::put(tx.ex(), "general.site_name", "Gone", None, 1)
                .await
                .unwrap();
        }
        assert!(settings::all(db.ex()).await.unwrap().is_empty());
        let mut tx = db.begin().await.unwrap();
        settings::put(tx.ex(), "general.site_name", "Kept", None, 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(settings::all(db.ex()).await.unwrap().len(), 1);
    })
    .await;
}

mod media_side {
    use super::each_backend;
    use boxoffice_store::libraries::SyncedLibrary;
    use boxoffice_store::plex_accounts::{CheckOutcome, NewPlexAccount, ProxyUpdate};
    use boxoffice_store::self_test::NewResult;
    use boxoffice_store::servers::{NewServer, ServerSettings};
    use boxoffice_store::{
        StoreError, libraries, plex_accounts, self_test, server_locations, servers,
    };

    fn plex_account<'a>(token_enc: &'a str) -> NewPlexAccount<'a> {
        NewPlexAccount {
            name: "Main",
            token_enc,
            plex_user_id: "1",
            username: "owner",
            email: "owner@example.com",
            has_plex_pass: true,
            proxy_url: "",
            proxy_username: "",
            proxy_password_enc: "",
            extra_query: "",
            now: 10,
        }
    }

    #[tokio::test]
    async fn a_plex_account_keeps_its_sealed_token_and_its_last_check() {
        each_backend(|db| async move {
            let a = plex_accounts::insert(db.ex(), plex_account("v1:sealed"))
                .await
                .unwrap();
            assert_eq!(a.token_enc, "v1:sealed");
            plex_accounts::update_settings(
                db.ex(),
                a.id,
                ProxyUpdate {
                    name: "Main",
                    proxy_url: "http://proxy:3128",
                    proxy_username: "p",
                    proxy_password_enc: Some("v1:pw"),
                    extra_query: "",
                    has_plex_pass: true,
                    now: 11,
                },
            )
            .await
            .unwrap();
            // None keeps the stored password.
            plex_accounts::update_settings(
                db.ex(),
                a.id,
                ProxyUpdate {
                    name: "Renamed",
                    proxy_url: "http://proxy:3128",
                    proxy_username: "p",
                    proxy_password_enc: None,
                    extra_query: "",
                    has_plex_pass: false,
                    now: 12,
                },
            )
            .await
            .unwrap();
            plex_accounts::record_check(db.ex(), a.id, CheckOutcome::Failed("401"), 13)
                .await
                .unwrap();
            let got = plex_accounts::find(db.ex(), a.id).await.unwrap();
            assert_eq!(got.name, "Renamed");
            assert_eq!(got.proxy_password_enc, "v1:pw");
            assert_eq!(got.last_error.as_deref(), Some("401"));
            assert_eq!(got.last_checked_at, Some(13));
            assert!(
                plex_accounts::find(db.ex(), 999)
                    .await
                    .unwrap_err()
                    .is_not_found()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_server_is_added_disabled_once_and_its_settings_change() {
        each_backend(|db| async move {
            let loc = server_locations::insert(db.ex(), "Europe", "", 1, 5)
                .await
                .unwrap();
            assert!(
                server_locations::insert(db.ex(), "Europe", "", 2, 5)
                    .await
                    .unwrap_err()
                    .is_conflict()
            );
            let new = || NewServer {
                platform: boxoffice_domain::platform::Platform::Jellyfin,
                name: "Jelly",
                remote_id: "abc",
                url: "http://127.0.0.1:8096",
                api_key_enc: "v1:key",
                plex_account_id: None,
                version: "10.11",
                has_premiere: false,
                now: 20,
            };
            let s = servers::insert(db.ex(), new()).await.unwrap();
            assert!(!s.enabled);
            assert_eq!(s.max_users, 100);
            assert!(matches!(
                servers::insert(db.ex(), new()).await,
                Err(StoreError::Conflict { .. })
            ));
            let settings = ServerSettings {
                url: s.url.clone(),
                location_id: Some(loc.id),
                enabled: true,
                allow_new_subscriptions: false,
                allow_trial_subscriptions: true,
                max_users: 50,
                allow_4k_transcoding: false,
                log_activity: true,
                has_premiere: false,
            };
            servers::update_settings(db.ex(), s.id, &settings, 21)
                .await
                .unwrap();
            let got = servers::find(db.ex(), s.id).await.unwrap();
            assert!(got.enabled && !got.allow_new_subscriptions && got.log_activity);
            assert_eq!((got.max_users, got.location_id), (50, Some(loc.id)));
            // Deleting the location leaves the server without one.
            server_locations::delete(db.ex(), loc.id).await.unwrap();
            assert_eq!(
                servers::find(db.ex(), s.id).await.unwrap().location_id,
                None
            );
            assert!(
                server_locations::delete(db.ex(), loc.id)
                    .await
                    .unwrap_err()
                    .is_not_found()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn syncing_libraries_twice_never_doubles_them_and_marks_gone_ones() {
        each_backend(|db| async move {
            let s = servers::insert(
                db.ex(),
                NewServer {
                    platform: boxoffice_domain::platform::Platform::Emby,
                    name: "Emby",
                    remote_id: "e1",
                    url: "http://127.0.0.1:8920",
                    api_key_enc: "v1:k",
                    plex_account_id: None,
                    version: "",
                    has_premiere: false,
                    now: 1,
                },
            )
            .await
            .unwrap();
            let lib = |key: &'static str, n: i64| SyncedLibrary {
                remote_key: key,
                global_id: key,
                name: key,
                kind: "movies",
                item_count: n,
                child_count: None,
            };
            for now in [100, 200] {
                libraries::upsert(db.ex(), s.id, lib("a", now), now)
                    .await
                    .unwrap();
                if now == 100 {
                    libraries::upsert(db.ex(), s.id, lib("b", 1), now)
                        .await
                        .unwrap();
                }
                libraries::mark_unseen_removed(db.ex(), s.id, now)
                    .await
                    .unwrap();
            }
            let libs = libraries::list(db.ex(), Some(s.id)).await.unwrap();
            assert_eq!(libs.len(), 1, "{libs:?}");
            assert_eq!(
                (libs[0].remote_key.as_str(), libs[0].item_count),
                ("a", 200)
            );
        })
        .await;
    }

    #[tokio::test]
    async fn self_test_runs_keep_their_rows_and_know_the_previous_result() {
        each_backend(|db| async move {
            let row = |ok: bool| NewResult {
                target_key: "server:1",
                target: "Jelly",
                call: "sessions",
                ok,
                skipped: false,
                status: if ok { Some(200) } else { Some(500) },
                message: "m",
                advice: "a",
                latency_ms: 3,
                at: 1,
            };
            let r1 = self_test::start_run(db.ex(), "manual", 1).await.unwrap();
            self_test::add_result(db.ex(), r1.id, row(true))
                .await
                .unwrap();
            self_test::finish_run(db.ex(), r1.id, 2).await.unwrap();
            let r2 = self_test::start_run(db.ex(), "schedule", 3).await.unwrap();
            self_test::add_result(db.ex(), r2.id, row(false))
                .await
                .unwrap();
            self_test::finish_run(db.ex(), r2.id, 4).await.unwrap();
            let latest = self_test::latest_run(db.ex()).await.unwrap();
            assert_eq!((latest.id, latest.passed, latest.failed), (r2.id, 0, 1));
            let prev = self_test::previous_result(db.ex(), r2.id, "server:1", "sessions")
                .await
                .unwrap()
                .unwrap();
            assert!(prev.ok);
            assert_eq!(
                self_test::results(db.ex(), r2.id).await.unwrap()[0].status,
                Some(500)
            );
            assert_eq!(self_test::runs(db.ex(), 10).await.unwrap().len(), 2);
            assert_eq!(self_test::prune(db.ex(), 3).await.unwrap(), 1);
        })
        .await;
    }
}

#[path = "stories/subscriptions.rs"]
mod subscriptions;

#[path = "stories/plex_account_change.rs"]
mod plex_account_change;
