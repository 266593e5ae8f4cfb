//! Logins need no authentication and each password check holds 19 MiB, so a flood of them is
//! limited twice: per address and account (counted before the check), and by how many checks may
//! run or wait at once (`passwords.concurrency`, `passwords.queue`).

use crate::helpers::*;
use std::collections::BTreeMap;

/// `n` wrong-password logins sent at once, each for its own unknown e-mail (so only the
/// per-address limit applies); the count of each status.
async fn flood(t: &TestApp, n: usize) -> BTreeMap<u16, usize> {
    let csrf = csrf_from(&t.get_html("/login").await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (client, url, csrf) = (t.client.clone(), t.url("/login"), csrf.clone());
        set.spawn(async move {
            let email = format!("visitor{i}@example.net");
            client
                .post(url)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "Wrong-pass1!"),
                    ("csrf", csrf.as_str()),
                ])
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        });
    }
    let mut counts = BTreeMap::new();
    while let Some(status) = set.join_next().await {
        *counts.entry(status.expect("task")).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn concurrent_wrong_passwords_from_one_address_stop_at_the_per_address_limit() {
    // A queue long enough that every admitted check waits rather than being turned away.
    let t = spawn_app_with(|c| c.passwords.queue = Some(100)).await;
    t.create_admin().await;
    // Five failures per account before a delay, four times that per address.
    let counts = flood(&t, 60).await;
    assert_eq!(
        counts,
        BTreeMap::from([(401, 20), (429, 40)]),
        "exactly the address's 20 attempts are checked, however many arrive at once"
    );
    // The right password from that address waits too, and is let in once the delay is over.
    assert_eq!(t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 429);
    t.advance_clock(time::Duration::seconds(2));
    assert_eq!(t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn password_checks_beyond_the_queue_are_answered_503_with_retry_after() {
    let t = spawn_app_with(|c| {
        c.passwords.concurrency = Some(1);
        c.passwords.queue = Some(0);
    })
    .await;
    t.create_admin().await;
    // Another check holds the only slot and nobody may wait for it.
    let held = t.app.password_gate.try_enter().expect("the slot is free");
    for _ in 0..7 {
        let r = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers().get("retry-after").unwrap(), "1");
        let page = r.text().await.unwrap();
        assert!(page.contains("Try again in a moment"), "{page}");
    }
    // Setting a password is bounded the same way.
    let e = t
        .app
        .reset_password(
            &boxoffice_app::audit::Actor::cli(),
            ADMIN_EMAIL,
            "An0ther-Secret!",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, boxoffice_app::AppError::Busy { .. }), "{e:?}");
    drop(held);
    // The refused attempts were never checked, so they did not count towards the delay.
    assert_eq!(t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
}
