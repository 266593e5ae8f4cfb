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
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k", 1).await.unwrap(),
            idempotency::Begin::Started
        );
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k", 2).await.unwrap(),
            idempotency::Begin::InFlight
        );
        idempotency::complete(db.ex(), "s", "k", 201, "{\"id\":1}")
            .await
            .unwrap();
        assert_eq!(
            idempotency::begin(db.ex(), "s", "k", 3).await.unwrap(),
            idempotency::Begin::Done {
                status: 201,
                body: "{\"id\":1}".into()
            }
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
