//! Store stories for library groups and plans, on SQLite and, when TEST_DATABASE_URL is set,
//! PostgreSQL, each against a fresh database.

use boxoffice_store::libraries::{self, SyncedLibrary};
use boxoffice_store::plans::{self, PlanValues};
use boxoffice_store::servers::{self, NewServer};
use boxoffice_store::{StoreError, library_groups, testing};

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

async fn builtin(db: &boxoffice_store::Db, which: &str) -> i64 {
    library_groups::list(db.ex())
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.builtin.as_deref() == Some(which))
        .unwrap()
        .id
}

async fn server(db: &boxoffice_store::Db) -> i64 {
    servers::insert(
        db.ex(),
        NewServer {
            platform: boxoffice_domain::platform::Platform::Jellyfin,
            name: "jf",
            remote_id: "r1",
            url: "http://jf",
            api_key_enc: "x",
            plex_account_id: None,
            version: "10",
            has_premiere: false,
            now: 1,
        },
    )
    .await
    .unwrap()
    .id
}

fn lib<'a>(key: &'a str, name: &'a str) -> SyncedLibrary<'a> {
    SyncedLibrary {
        remote_key: key,
        global_id: key,
        name,
        kind: "movie",
        item_count: 1,
        child_count: None,
    }
}

fn values(name: &str, groups: Vec<i64>) -> PlanValues {
    PlanValues {
        name: name.into(),
        description: String::new(),
        cost_minor: 1500,
        currency: "USD".into(),
        duration_unit: "days".into(),
        duration_count: 30,
        stream_limit: Some(2),
        downloads: false,
        video_transcoding: true,
        emby_device_limit: None,
        is_trial: false,
        is_default: false,
        active: true,
        stripe_price_id: String::new(),
        paypal_plan_id: String::new(),
        max_linked_accounts: 0,
        sort_order: 0,
        library_group_ids: groups,
        grace_library_group_ids: vec![],
        target_server_ids: vec![],
    }
}

#[tokio::test]
async fn built_in_groups_are_seeded_and_cannot_be_renamed_or_deleted() {
    each_backend(|db| async move {
        let groups = library_groups::list(db.ex()).await.unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["Private", "Standard", "Premium 4K"]);
        assert!(groups[0].is_private && !groups[1].is_private);
        let standard = groups[1].id;
        assert!(matches!(
            library_groups::rename(db.ex(), standard, "All", "").await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            library_groups::delete(db.ex(), standard).await,
            Err(StoreError::NotFound)
        ));
        let id = library_groups::insert(db.ex(), "Remux", "", 5)
            .await
            .unwrap();
        assert!(
            library_groups::insert(db.ex(), "Remux", "", 5)
                .await
                .unwrap_err()
                .is_conflict()
        );
        library_groups::rename(db.ex(), id, "Remux 4K", "big")
            .await
            .unwrap();
        assert_eq!(
            library_groups::find(db.ex(), id).await.unwrap().name,
            "Remux 4K"
        );
    })
    .await;
}

#[tokio::test]
async fn a_new_library_lands_in_standard_and_keeps_the_group_it_was_moved_to() {
    each_backend(|db| async move {
        let s = server(&db).await;
        let standard = builtin(&db, "standard").await;
        let premium = builtin(&db, "premium_4k").await;
        libraries::upsert(db.ex(), s, lib("1", "Movies"), 10)
            .await
            .unwrap();
        libraries::upsert(db.ex(), s, lib("2", "Shows"), 10)
            .await
            .unwrap();
        let libs = libraries::list(db.ex(), Some(s)).await.unwrap();
        assert!(libs.iter().all(|l| l.library_group_id == Some(standard)));
        let movies = libs.iter().find(|l| l.name == "Movies").unwrap().id;
        library_groups::assign_library(db.ex(), movies, premium)
            .await
            .unwrap();
        libraries::upsert(db.ex(), s, lib("1", "Movies"), 20)
            .await
            .unwrap();
        let libs = libraries::list(db.ex(), Some(s)).await.unwrap();
        let m = libs.iter().find(|l| l.id == movies).unwrap();
        assert_eq!(m.library_group_id, Some(premium));
        let counts: Vec<(String, i64)> = library_groups::list(db.ex())
            .await
            .unwrap()
            .into_iter()
            .map(|g| (g.name, g.library_count))
            .collect();
        assert_eq!(counts[1], ("Standard".into(), 1));
        assert_eq!(counts[2], ("Premium 4K".into(), 1));
        assert!(matches!(
            library_groups::assign_library(db.ex(), 9999, premium).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn a_plan_round_trips_with_its_groups_grace_groups_and_target_servers() {
    each_backend(|db| async move {
        let s = server(&db).await;
        let standard = builtin(&db, "standard").await;
        let premium = builtin(&db, "premium_4k").await;
        let mut v = values("Premium", vec![standard, premium]);
        v.grace_library_group_ids = vec![standard];
        v.target_server_ids = vec![s];
        v.is_default = true;
        let id = plans::insert(db.ex(), &v, 7).await.unwrap();
        let r = plans::find(db.ex(), id).await.unwrap();
        assert_eq!(r.library_group_ids, vec![standard, premium]);
        assert_eq!(r.grace_library_group_ids, vec![standard]);
        assert_eq!(r.target_server_ids, vec![s]);
        assert!(r.plan.is_default);
        assert_eq!(
            library_groups::plans_using(db.ex(), premium).await.unwrap(),
            vec!["Premium".to_string()]
        );

        // The database keeps one default: a second is a conflict until the first is cleared.
        let mut b = values("Basic", vec![standard]);
        b.is_default = true;
        assert!(
            plans::insert(db.ex(), &b, 8)
                .await
                .unwrap_err()
                .is_conflict()
        );
        plans::clear_default_except(db.ex(), None).await.unwrap();
        let basic = plans::insert(db.ex(), &b, 8).await.unwrap();

        v.library_group_ids = vec![standard];
        v.is_default = false;
        plans::update(db.ex(), id, &v, 9).await.unwrap();
        let r = plans::find(db.ex(), id).await.unwrap();
        assert_eq!(r.library_group_ids, vec![standard]);
        assert!(
            library_groups::plans_using(db.ex(), premium)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!plans::has_payments(db.ex(), id).await.unwrap());
        plans::delete(db.ex(), id).await.unwrap();
        assert!(matches!(
            plans::find(db.ex(), id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            plans::delete(db.ex(), id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            plans::update(db.ex(), id, &v, 9).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(plans::list(db.ex()).await.unwrap().len(), 1);
        assert_eq!(
            plans::find(db.ex(), basic).await.unwrap().plan.name,
            "Basic"
        );
    })
    .await;
}
