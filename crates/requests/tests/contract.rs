//! Each client against its fake: the happy path and each documented failure (ref §4.4).

use boxoffice_fakes::{FaultAction, FaultRule, OmbiFake, OverseerrFake, PetioFake};
use boxoffice_requests::{
    Access, ClientOptions, MediaRef, NewAccount, OmbiClient, OverseerrClient, PetioClient, Quota,
    RequestApp, RequestAppError,
};

fn new_account(name: &str) -> NewAccount {
    NewAccount {
        email: format!("{name}@example.com"),
        username: name.into(),
        password: "s3cret-enough".into(),
    }
}

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: std::time::Duration::from_millis(500),
    }
}

#[tokio::test]
async fn overseerr_creates_a_local_user_with_permissions_and_quotas() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    let access = Access {
        roles: roles(&["REQUEST", "AUTO_APPROVE"]),
        movie_quota: Some(Quota { limit: 5, days: 7 }),
        tv_quota: Some(Quota { limit: 2, days: 14 }),
        profile: None,
    };
    let u = c.create_user(&new_account("ann"), &access).await.unwrap();
    let seen = fake.user_by_email("ann@example.com").unwrap();
    assert_eq!(seen.user_type, 2);
    assert_eq!(seen.permissions, 32 | 128);
    assert_eq!(
        (seen.movie_quota_limit, seen.movie_quota_days),
        (Some(5), Some(7))
    );
    assert_eq!(
        (seen.tv_quota_limit, seen.tv_quota_days),
        (Some(2), Some(14))
    );

    let back = c.get_user(&u.id).await.unwrap().unwrap();
    assert_eq!(back.access, c.canonical(&access));
    let found = c.find_user("ANN@example.com", None).await.unwrap().unwrap();
    assert_eq!(found.id, u.id);

    c.disable(&u).await.unwrap();
    assert_eq!(
        fake.user_by_email("ann@example.com").unwrap().permissions,
        0
    );
    c.delete_user(&u).await.unwrap();
    assert!(fake.user_by_email("ann@example.com").is_none());
    let again = c.delete_user(&u).await.unwrap_err();
    assert!(again.is_not_found(), "{again}");
}

#[tokio::test]
async fn overseerr_wrong_key_is_403_and_reads_as_a_refused_key() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), "wrong", &opts()).unwrap();
    let e = c.users().await.unwrap_err();
    assert!(matches!(e, RequestAppError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("API key"), "{e}");
    assert!(!e.retryable());
}

#[tokio::test]
async fn overseerr_duplicate_email_is_409_user_exists() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    c.create_user(&new_account("bo"), &Access::default())
        .await
        .unwrap();
    let e = c
        .create_user(&new_account("bo"), &Access::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RequestAppError::AlreadyExists { .. }), "{e:?}");
    assert!(e.to_string().contains("User already exists"), "{e}");
}

#[tokio::test]
async fn overseerr_imports_only_users_on_the_share_list() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    assert_eq!(
        c.import_user(&MediaRef::Plex("4242".into())).await.unwrap(),
        None
    );
    fake.add_importable_plex("4242", "cy_plex", "cy@example.com");
    let u = c
        .import_user(&MediaRef::Plex("4242".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.username, "cy_plex");
    let by_media = c
        .find_user("nobody@example.com", Some(&MediaRef::Plex("4242".into())))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_media.id, u.id);

    fake.add_importable_jellyfin("0123456789abcdef0123456789abcdef", "dee");
    let j = c
        .import_user(&MediaRef::Jellyfin(
            "0123456789abcdef0123456789abcdef".into(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.username, "dee");
}

#[tokio::test]
async fn overseerr_owner_cannot_be_deleted() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    let owner = c.get_user("1").await.unwrap().unwrap();
    let e = c.delete_user(&owner).await.unwrap_err();
    assert!(
        matches!(e, RequestAppError::Rejected { status: 405, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn server_errors_rate_limits_and_timeouts_are_retryable() {
    let fake = OverseerrFake::start().await.unwrap();
    let c = OverseerrClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    fake.add_fault(FaultRule::next(
        1,
        FaultAction::Status {
            status: 503,
            body: None,
        },
    ));
    let e = c.users().await.unwrap_err();
    assert!(
        matches!(e, RequestAppError::ServerError { status: 503, .. }) && e.retryable(),
        "{e:?}"
    );

    fake.add_fault(FaultRule::next(
        1,
        FaultAction::RateLimit { retry_after: 30 },
    ));
    let e = c.users().await.unwrap_err();
    assert!(e.retryable());
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(30)));

    fake.add_fault(FaultRule::next(1, FaultAction::Delay { ms: 2_000 }));
    let e = c.users().await.unwrap_err();
    assert!(
        matches!(e, RequestAppError::Timeout { .. }) && e.retryable(),
        "{e:?}"
    );

    assert!(c.users().await.is_ok());
}

#[tokio::test]
async fn ombi_creates_a_user_with_roles_and_limits() {
    let fake = OmbiFake::start().await.unwrap();
    let c = OmbiClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    let access = Access {
        roles: roles(&["RequestMovie", "RequestTv"]),
        movie_quota: Some(Quota { limit: 10, days: 7 }),
        tv_quota: None,
        profile: None,
    };
    let u = c.create_user(&new_account("eve"), &access).await.unwrap();
    let seen = fake.user_by_email("eve@example.com").unwrap();
    assert_eq!(seen.roles, roles(&["RequestMovie", "RequestTv"]));
    assert_eq!(seen.movie_request_limit, 10);
    assert_eq!(
        c.get_user(&u.id).await.unwrap().unwrap().access,
        c.canonical(&access)
    );

    c.disable(&u).await.unwrap();
    assert_eq!(
        fake.user_by_email("eve@example.com").unwrap().roles,
        roles(&["Disabled"])
    );
    c.set_access(&u, &access).await.unwrap();
    assert!(!c.get_user(&u.id).await.unwrap().unwrap().disabled);

    c.delete_user(&u).await.unwrap();
    assert!(fake.user_by_email("eve@example.com").is_none());
    assert!(c.delete_user(&u).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn ombi_logical_failures_are_200_with_successful_false() {
    let fake = OmbiFake::start().await.unwrap();
    let c = OmbiClient::new(&fake.url(), &fake.api_key(), &opts()).unwrap();
    c.create_user(&new_account("fay"), &Access::default())
        .await
        .unwrap();
    let e = c
        .create_user(&new_account("fay"), &Access::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RequestAppError::AlreadyExists { .. }), "{e:?}");
    let mut bad = new_account("gus");
    bad.email = "not-an-email".into();
    let e = c.create_user(&bad, &Access::default()).await.unwrap_err();
    assert!(matches!(e, RequestAppError::Refused { .. }), "{e:?}");
    assert!(e.to_string().contains("not a valid format"), "{e}");
}

#[tokio::test]
async fn ombi_wrong_key_is_401() {
    let fake = OmbiFake::start().await.unwrap();
    let c = OmbiClient::new(&fake.url(), "nope", &opts()).unwrap();
    let e = c.users().await.unwrap_err();
    assert!(matches!(e, RequestAppError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test]
async fn petio_logs_in_creates_a_custom_user_with_the_profile() {
    let fake = PetioFake::start().await.unwrap();
    fake.add_profile("Subscribers", 20);
    let c = PetioClient::new(
        &fake.url(),
        &fake.admin_email(),
        &fake.admin_password(),
        &opts(),
    )
    .unwrap();
    let access = Access {
        profile: Some("Subscribers".into()),
        ..Access::default()
    };
    let u = c.create_user(&new_account("hal"), &access).await.unwrap();
    let seen = fake.user_by_email("hal@example.com").unwrap();
    assert!(seen.custom);
    assert_eq!(
        fake.profile_name(seen.profile.as_deref().unwrap())
            .as_deref(),
        Some("Subscribers")
    );
    assert_eq!(
        c.get_user(&u.id).await.unwrap().unwrap().access,
        c.canonical(&access)
    );

    // An expired JWT is renewed by logging in again.
    fake.expire_tokens();
    c.disable(&u).await.unwrap();
    assert!(fake.user_by_email("hal@example.com").unwrap().disabled);

    c.delete_user(&c.get_user(&u.id).await.unwrap().unwrap())
        .await
        .unwrap();
    assert!(fake.user_by_email("hal@example.com").is_none());
}

#[tokio::test]
async fn petio_duplicate_is_200_with_an_error_field() {
    let fake = PetioFake::start().await.unwrap();
    let c = PetioClient::new(
        &fake.url(),
        &fake.admin_email(),
        &fake.admin_password(),
        &opts(),
    )
    .unwrap();
    c.create_user(&new_account("ivy"), &Access::default())
        .await
        .unwrap();
    let e = c
        .create_user(&new_account("ivy"), &Access::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RequestAppError::AlreadyExists { .. }), "{e:?}");
}

#[tokio::test]
async fn petio_wrong_password_is_a_refused_login() {
    let fake = PetioFake::start().await.unwrap();
    let c = PetioClient::new(&fake.url(), &fake.admin_email(), "wrong", &opts()).unwrap();
    let e = c.users().await.unwrap_err();
    assert!(matches!(e, RequestAppError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("administrator login"), "{e}");
}

#[tokio::test]
async fn petio_unknown_profile_and_plex_user_deletion_are_refused() {
    let fake = PetioFake::start().await.unwrap();
    let c = PetioClient::new(
        &fake.url(),
        &fake.admin_email(),
        &fake.admin_password(),
        &opts(),
    )
    .unwrap();
    let u = c
        .create_user(&new_account("jo"), &Access::default())
        .await
        .unwrap();
    let e = c
        .set_access(
            &u,
            &Access {
                profile: Some("Nope".into()),
                ..Access::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no profile named \"Nope\""), "{e}");
    let mut plex_user = u.clone();
    plex_user.local = false;
    let e = c.delete_user(&plex_user).await.unwrap_err();
    assert!(
        e.to_string().contains("Cannot delete non custom users"),
        "{e}"
    );
}
