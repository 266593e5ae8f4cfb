//! The checkout page's portal parts: the Plex remote-playback notice before paying, and the
//! server location, asked only when servers with room stand in more than one place and honoured
//! when the customer is provisioned.

use crate::helpers::csrf_from;
use crate::lifecycle::{exec, open_server};
use crate::payments_webhooks::{STANDARD, count, gateway_ref, run_all_jobs, shop};
use crate::trials::{customer_browser, page, shares_of};

#[tokio::test]
async fn a_plex_plan_shows_the_remote_playback_notice_before_paying() {
    let (m, server) = shop().await;
    let c = customer_browser(&m, "paul@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(
        html.contains("id=\"plex-remote-notice\"")
            && html.contains("Plex Pass")
            && html.contains("Remote Watch Pass"),
        "{html}"
    );
    // Served by Jellyfin only, the plan needs no Plex notice.
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET enabled = FALSE WHERE id = {server}"),
    )
    .await;
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, jf, &[("Movies", STANDARD)]).await;
    let html = page(&m, &c, "/checkout").await;
    assert!(!html.contains("id=\"plex-remote-notice\""), "{html}");
    assert!(html.contains("id=\"checkout-form\""), "{html}");
}

#[tokio::test]
async fn the_location_is_asked_only_when_two_places_have_room_and_provisioning_honours_it() {
    let (m, plex) = shop().await;
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, jf, &[("Movies", STANDARD)]).await;
    let c = customer_browser(&m, "rita@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(
        !html.contains("id=\"checkout-location\""),
        "no locations set, nothing to ask: {html}"
    );

    for (id, name, server) in [(1, "Europe", plex), (2, "America", jf)] {
        exec(
            &m.t.app.db,
            format!(
                "INSERT INTO server_locations (id, name, created_at) VALUES ({id}, '{name}', 0)"
            ),
        )
        .await;
        exec(
            &m.t.app.db,
            format!("UPDATE servers SET location_id = {id} WHERE id = {server}"),
        )
        .await;
    }
    let html = page(&m, &c, "/checkout").await;
    assert!(
        html.contains("id=\"checkout-location\"")
            && html.contains("Europe")
            && html.contains("America"),
        "{html}"
    );

    // America is chosen (Plex Europe would win a tie on the lower id): the customer is placed
    // there once the payment is in.
    m.world.payments.stripe.set_webhook_url(None, None);
    let r = c
        .post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", "stripe"),
            ("location_id", "2"),
            ("csrf", &csrf_from(&html)),
        ])
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 303);
    let id = count(&m, "SELECT MAX(id) FROM checkouts").await;
    let cs = gateway_ref(&m, id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    m.t.app.confirm_checkout(id).await.expect("confirmed");
    run_all_jobs(&m).await;
    let shares = shares_of(&m, "rita@example.com").await;
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(shares[0].0, jf, "{shares:?}");

    // A location with no room is refused on the form, and nothing is written.
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET max_users = 1 WHERE id = {jf}"),
    )
    .await;
    let other = customer_browser(&m, "sam@example.com").await;
    let html = page(&m, &other, "/checkout").await;
    assert!(
        !html.contains("id=\"checkout-location\""),
        "only Europe has room now: {html}"
    );
    let before = count(&m, "SELECT COUNT(*) FROM checkouts").await;
    let r = other
        .post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", "stripe"),
            ("location_id", "2"),
            ("csrf", &csrf_from(&html)),
        ])
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("body");
    assert!(
        body.contains("no server in that location has room"),
        "{body}"
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, before);
}
