//! Conformance stories of customers, payments, shares, admin events and the provisioning reads.

use super::each_backend;
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::payments::{self, NewPayment};
use boxoffice_store::shares::{self, Desired};
use boxoffice_store::{Db, StoreError, admin_events, affected, libraries, provisioning, servers};

async fn exec(db: &Db, sql: &'static str) {
    affected!(db.ex(), |e| sqlx::query(sql).execute(e).await).expect(sql);
}

/// A plan (id 1) granting Standard (group 2), keeping Premium 4K (group 3) in grace, and a
/// Jellyfin server (returned) with one library in each built-in group.
async fn world(db: &Db) -> i64 {
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, 0, 0)").await;
    exec(db, "INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, 2, FALSE), (1, 3, TRUE)").await;
    let s = servers::insert(
        db.ex(),
        servers::NewServer {
            platform: boxoffice_domain::platform::Platform::Jellyfin,
            name: "JF",
            remote_id: "jf1",
            url: "http://jf",
            api_key_enc: "",
            plex_account_id: None,
            version: "10",
            has_premiere: false,
            now: 0,
        },
    )
    .await
    .expect("server");
    for (key, name) in [("a", "Private stuff"), ("b", "Movies"), ("c", "Movies 4K")] {
        libraries::upsert(
            db.ex(),
            s.id,
            libraries::SyncedLibrary {
                remote_key: key,
                global_id: key,
                name,
                kind: "movies",
                item_count: 1,
                child_count: None,
            },
            0,
        )
        .await
        .expect("library");
    }
    exec(db, "UPDATE libraries SET library_group_id = CASE remote_key WHEN 'a' THEN 1 WHEN 'b' THEN 2 ELSE 3 END").await;
    s.id
}

async fn customer(db: &Db, email: &str, permanent: bool) -> customers::CustomerRow {
    customers::insert(
        db.ex(),
        NewCustomer {
            email,
            email_key: &email.to_lowercase(),
            plex_email: email,
            jellyfin_username: email,
            emby_username: "",
            paypal_email: "",
            permanent,
            plan_id: Some(1),
            now: 10,
        },
    )
    .await
    .expect("customer")
}

fn payment(customer_id: i64, tid: &str, seq: i64, from: i64, to: i64) -> NewPayment<'_> {
    NewPayment {
        customer_id,
        plan_id: 1,
        amount_minor: 1000,
        currency: "USD",
        period_from: from,
        period_to: to,
        method: "manual",
        transaction_id: tid,
        sequence: seq,
        subscription_id: "",
        notes: "",
        source: "manual",
        now: 10,
    }
}

#[tokio::test]
async fn a_customer_is_found_by_email_and_a_transaction_is_recorded_once() {
    each_backend(|db| async move {
        world(&db).await;
        let c = customer(&db, "Ann@example.com", false).await;
        assert_eq!(
            customers::find_by_email_key(db.ex(), "ann@example.com")
                .await
                .expect("found")
                .id,
            c.id
        );
        assert!(matches!(
            customers::insert(
                db.ex(),
                NewCustomer {
                    email: "ANN@example.com",
                    email_key: "ann@example.com",
                    plex_email: "",
                    jellyfin_username: "",
                    emby_username: "",
                    paypal_email: "",
                    permanent: false,
                    plan_id: None,
                    now: 1
                }
            )
            .await,
            Err(StoreError::Conflict { .. })
        ));
        payments::insert(db.ex(), payment(c.id, "tx-1", 1, 100, 200))
            .await
            .expect("first");
        assert!(matches!(
            payments::insert(db.ex(), payment(c.id, "tx-1", 1, 200, 300)).await,
            Err(StoreError::Conflict { .. })
        ));
        // Another sequence splits the same transaction.
        payments::insert(db.ex(), payment(c.id, "tx-1", 2, 200, 300))
            .await
            .expect("second sequence");
        let list = payments::list_for_customer(db.ex(), c.id)
            .await
            .expect("list");
        assert_eq!(
            list.iter()
                .map(|p| (p.period_from, p.period_to))
                .collect::<Vec<_>>(),
            vec![(100, 200), (200, 300)]
        );
        payments::cut(db.ex(), list[1].id, 250, 500, "cut")
            .await
            .expect("cut");
        let p = payments::find_by_transaction(db.ex(), "tx-1", 2)
            .await
            .expect("by transaction");
        assert_eq!(
            (p.period_to, p.amount_minor, p.notes.as_str()),
            (250, 500, "cut")
        );
        customers::set_coverage(db.ex(), c.id, Some(1), Some(250), 20)
            .await
            .expect("coverage");
        assert_eq!(
            customers::find(db.ex(), c.id)
                .await
                .expect("find")
                .covered_until,
            Some(250)
        );
    })
    .await;
}

#[tokio::test]
async fn a_share_change_bumps_its_revision_and_expiry_skips_permanent_and_covered_customers() {
    each_backend(|db| async move {
        let server = world(&db).await;
        let lapsed = customer(&db, "lapsed@example.com", false).await;
        let paid = customer(&db, "paid@example.com", false).await;
        let forever = customer(&db, "forever@example.com", true).await;
        customers::set_coverage(db.ex(), lapsed.id, Some(1), Some(500), 0)
            .await
            .expect("cov");
        customers::set_coverage(db.ex(), paid.id, Some(1), Some(5_000), 0)
            .await
            .expect("cov");
        let want = Desired {
            state: "pending",
            library_ids: &[2],
            downloads: true,
            video_transcoding: false,
            stream_limit: Some(2),
            delete_after: None,
        };
        let mut ids = Vec::new();
        for c in [&lapsed, &paid, &forever] {
            let s = shares::upsert_desired(db.ex(), c.id, server, &want, 10)
                .await
                .expect("share");
            assert_eq!(
                (s.revision, s.library_ids(), s.is_applied()),
                (1, vec![2], false)
            );
            ids.push(s.id);
        }
        let again = shares::upsert_desired(db.ex(), lapsed.id, server, &want, 11)
            .await
            .expect("again");
        assert_eq!((again.id, again.revision), (ids[0], 2));
        shares::record_applied(db.ex(), again.id, 2, "active", "u1", "", 12)
            .await
            .expect("applied");
        let s = shares::find(db.ex(), again.id).await.expect("find");
        assert!(s.is_applied());
        assert_eq!(
            (
                s.state.as_str(),
                s.remote_user_id.as_str(),
                s.last_error.as_deref()
            ),
            ("active", "u1", None)
        );
        // An apply of an older revision does not move the state of a newer change.
        shares::upsert_desired(
            db.ex(),
            lapsed.id,
            server,
            &Desired {
                state: "grace",
                delete_after: Some(900),
                ..want
            },
            13,
        )
        .await
        .expect("grace");
        shares::record_applied(db.ex(), again.id, 2, "active", "u1", "", 14)
            .await
            .expect("late");
        let s = shares::find(db.ex(), again.id).await.expect("find");
        assert_eq!((s.state.as_str(), s.is_applied()), ("grace", false));
        shares::record_error(db.ex(), s.id, "boom", 15)
            .await
            .expect("error");

        let due: Vec<i64> = shares::due_for_expiry(db.ex(), 1_000)
            .await
            .expect("due")
            .iter()
            .map(|s| s.id)
            .collect();
        assert!(due.is_empty(), "grace shares are already expired: {due:?}");
        shares::upsert_desired(db.ex(), lapsed.id, server, &want, 16)
            .await
            .expect("back");
        let due: Vec<i64> = shares::due_for_expiry(db.ex(), 1_000)
            .await
            .expect("due")
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(due, vec![ids[0]]);
        shares::upsert_desired(
            db.ex(),
            lapsed.id,
            server,
            &Desired {
                state: "grace",
                delete_after: Some(900),
                ..want
            },
            17,
        )
        .await
        .expect("grace");
        assert!(
            shares::due_for_deletion(db.ex(), 899)
                .await
                .expect("not yet")
                .is_empty()
        );
        assert_eq!(
            shares::due_for_deletion(db.ex(), 900)
                .await
                .expect("due")
                .len(),
            1
        );
        assert_eq!(
            shares::counts_by_server(db.ex()).await.expect("counts"),
            vec![(server, 3)]
        );
    })
    .await;
}

#[tokio::test]
async fn provisioning_reads_a_plans_groups_and_never_offers_a_private_library() {
    each_backend(|db| async move {
        let server = world(&db).await;
        let plan = provisioning::plan(db.ex(), 1).await.expect("plan");
        assert_eq!((plan.name.as_str(), plan.duration_count), ("Basic", 30));
        assert_eq!(
            provisioning::plan_groups(db.ex(), 1, false)
                .await
                .expect("groups"),
            vec![2]
        );
        assert_eq!(
            provisioning::plan_groups(db.ex(), 1, true)
                .await
                .expect("grace"),
            vec![3]
        );
        let names = |v: Vec<provisioning::ShareableLibrary>| {
            v.into_iter().map(|l| l.name).collect::<Vec<_>>()
        };
        assert_eq!(
            names(
                provisioning::libraries_in_groups(db.ex(), server, &[1, 2])
                    .await
                    .expect("libs")
            ),
            vec!["Movies"]
        );
        assert_eq!(
            provisioning::server_groups(db.ex()).await.expect("groups"),
            vec![(server, 2), (server, 3)]
        );
        let c = customer(&db, "e@example.com", false).await;
        admin_events::record(
            db.ex(),
            5,
            "no_capacity",
            Some(c.id),
            None,
            "There are no servers with capacity that accomodate plan Basic",
        )
        .await
        .expect("event");
        let ev = admin_events::list(db.ex(), Some(c.id), 10)
            .await
            .expect("events");
        assert_eq!(ev.len(), 1);
        assert!(ev[0].message.starts_with("There are no servers"));
    })
    .await;
}
