//! Conformance stories of the Plex-account-change flag, the self re-invite stamp and the lookups.

use super::each_backend;
use boxoffice_domain::permission::RoleKind;
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::logins::{self, NewLogin};
use boxoffice_store::{StoreError, jobs, plex_account_change as pac, roles};

async fn customer(db: &boxoffice_store::Db, email: &str, plex: &str) -> i64 {
    customers::insert(
        db.ex(),
        NewCustomer {
            email,
            email_key: email,
            plex_email: plex,
            jellyfin_username: "",
            emby_username: "",
            paypal_email: "",
            permanent: false,
            plan_id: None,
            now: 10,
        },
    )
    .await
    .expect("customer")
    .id
}

async fn login(db: &boxoffice_store::Db, email: &str, confirmed: bool) -> i64 {
    let role = roles::find_builtin(db.ex(), RoleKind::User)
        .await
        .expect("role");
    logins::insert(
        db.ex(),
        NewLogin {
            email,
            email_key: email,
            password_hash: "x",
            role_id: role.id,
            email_confirmed: confirmed,
            now: 10,
        },
    )
    .await
    .expect("login")
    .id
}

#[tokio::test]
async fn the_flag_switches_with_the_identity_and_a_plex_account_belongs_to_one_customer() {
    each_backend(|db| async move {
        let ann = customer(&db, "ann@example.com", "ann@plex.example").await;
        let bob = customer(&db, "bob@example.com", "bob@plex.example").await;
        assert!(!pac::is_required(db.ex(), ann).await.unwrap());
        pac::set_required(db.ex(), ann, true, 20).await.unwrap();
        assert!(pac::is_required(db.ex(), ann).await.unwrap());
        assert!(matches!(
            pac::set_required(db.ex(), 999, true, 20).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            pac::other_holder(db.ex(), "BOB@plex.example", ann)
                .await
                .unwrap(),
            Some(bob)
        );
        assert_eq!(
            pac::other_holder(db.ex(), "ann@plex.example", ann)
                .await
                .unwrap(),
            None
        );
        pac::switch_identity(db.ex(), ann, "ann.new@plex.example", "", 30)
            .await
            .unwrap();
        assert!(!pac::is_required(db.ex(), ann).await.unwrap());
        let row = customers::find(db.ex(), ann).await.unwrap();
        assert_eq!(row.plex_email, "ann.new@plex.example");
    })
    .await;
}

#[tokio::test]
async fn a_self_reinvite_is_stamped_once_per_window() {
    each_backend(|db| async move {
        let c = customer(&db, "cy@example.com", "").await;
        assert_eq!(pac::self_reinvite_at(db.ex(), c).await.unwrap(), None);
        assert!(
            pac::stamp_self_reinvite(db.ex(), c, 1000, 100)
                .await
                .unwrap()
        );
        // Within the window: refused, the first stamp stays.
        assert!(
            !pac::stamp_self_reinvite(db.ex(), c, 1200, 300)
                .await
                .unwrap()
        );
        assert_eq!(pac::self_reinvite_at(db.ex(), c).await.unwrap(), Some(1000));
        assert!(
            pac::stamp_self_reinvite(db.ex(), c, 2000, 1100)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn a_login_finds_its_customer_by_e_mail_only_once_confirmed() {
    each_backend(|db| async move {
        let c = customer(&db, "dee@example.com", "").await;
        let unconfirmed = login(&db, "dee@example.com", false).await;
        assert!(matches!(
            pac::customer_of_login(db.ex(), unconfirmed, "dee@example.com").await,
            Err(StoreError::NotFound)
        ));
        let other = login(&db, "eve@example.com", true).await;
        assert!(matches!(
            pac::customer_of_login(db.ex(), other, "eve@example.com").await,
            Err(StoreError::NotFound)
        ));
        let e = customer(&db, "eve@example.com", "").await;
        assert_eq!(
            pac::customer_of_login(db.ex(), other, "eve@example.com")
                .await
                .unwrap(),
            e
        );
        assert_ne!(c, e);
        assert_eq!(
            pac::unfinished_jobs(db.ex(), "reinvite:server:1:")
                .await
                .unwrap(),
            0
        );
        jobs::enqueue(
            db.ex(),
            jobs::NewJob {
                kind: "shares.apply",
                payload: "{}",
                idempotency_key: Some("reinvite:server:1:5:7"),
                run_after: 0,
                max_attempts: 3,
            },
            0,
        )
        .await
        .unwrap();
        assert_eq!(
            pac::unfinished_jobs(db.ex(), "reinvite:server:1:")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            pac::unfinished_jobs(db.ex(), "reinvite:server:10:")
                .await
                .unwrap(),
            0
        );
    })
    .await;
}
