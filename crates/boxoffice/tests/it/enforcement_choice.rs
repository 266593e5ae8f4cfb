//! "Customer chooses which stream ends": over the limit the customer is sent a link to the page of
//! their own streams, stops the one(s) they pick there, and when the grace period ends without a
//! choice the newest stream stops. Only the customer's own streams are shown or stopped.

use crate::enforcement::{
    ANN, ann_with_two_streams, email_on, pass, play, queued_notices, stopped,
};
use crate::helpers::{client, csrf_from, location};
use crate::lifecycle::{invite, set};
use crate::payments_webhooks::customer_login;
use crate::servers::{MediaTest, media_test};
use serde_json::json;

const BEA: &str = "bea@example.com";

/// A customer's own browser session on the site.
pub(crate) struct Customer {
    http: reqwest::Client,
    base: String,
}

impl Customer {
    pub(crate) async fn login(m: &MediaTest, email: &str) -> Customer {
        customer_login(m, email).await;
        let c = Customer {
            http: client(),
            base: m.t.base.clone(),
        };
        let r = c
            .post(
                "/login",
                &[("email", email), ("password", "Cust0mer-Pass!")],
            )
            .await;
        assert_eq!(r.status(), 303, "customer login");
        c
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap_or_default()
    }

    /// Posts to `path` with the CSRF token of the page at the same path.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let form_page = if path == "/login" {
            "/login"
        } else {
            "/account/streams"
        };
        let csrf = csrf_from(&self.page(form_page).await);
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.http
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .expect("request")
    }
}

/// The placeholder values of the customer notices queued for `event`.
async fn notice_values(m: &MediaTest, event: &str) -> Vec<serde_json::Value> {
    let sql = format!("SELECT context_sealed FROM notifications WHERE event = '{event}'");
    let rows: Vec<(String,)> = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(e)
    .await)
    .expect("notices");
    rows.into_iter()
        .map(|(sealed,)| {
            let text = m.t.app.secrets.open(&sealed).expect("unsealed");
            serde_json::from_str(&text).expect("json")
        })
        .collect()
}

/// The Jellyfin server's id in boxoffice (the only server in these tests).
async fn jellyfin_server_id(m: &MediaTest) -> i64 {
    let row: (i64,) = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT id FROM servers ORDER BY id LIMIT 1"
    )
    .fetch_one(e)
    .await)
    .expect("server");
    row.0
}

/// Ann on a two-stream plan under the "customer chooses" policy with a 10-minute grace, playing
/// on the TV and the phone (seen by one pass), then on the laptop; answers the sessions of the
/// TV, the phone and the laptop.
pub(crate) async fn ann_over_the_limit_with_a_choice(m: &MediaTest) -> [String; 3] {
    ann_with_two_streams(m).await;
    email_on(m).await;
    set(m, "general.site_uri", "https://tv.example.com").await;
    set(m, "enforcement.stream_policy", "customer_chooses").await;
    set(m, "enforcement.choice_grace_minutes", "10").await;
    let tv = play(m, "tv", "Movie A");
    let phone = play(m, "phone", "Movie B");
    assert_eq!(pass(m).await.stopped, 0);
    let newest = play(m, "laptop", "Movie C");
    assert_eq!(pass(m).await.stopped, 0, "first reading over the limit");
    let confirmed = pass(m).await;
    assert_eq!(confirmed.stopped, 0, "the customer is given time to choose");
    [tv, phone, newest]
}

#[tokio::test]
async fn over_the_limit_the_customer_is_sent_a_link_and_stops_the_stream_they_choose() {
    let m = media_test().await;
    let [_, phone, _] = ann_over_the_limit_with_a_choice(&m).await;
    assert_eq!(queued_notices(&m, "stream_limit_choose").await, 1);
    assert_eq!(
        queued_notices(&m, "stream_limit_exceeded").await,
        0,
        "nothing was stopped yet"
    );
    let values = notice_values(&m, "stream_limit_choose").await;
    assert_eq!(
        values[0]["choose_url"], "https://tv.example.com/account/streams",
        "{values:?}"
    );
    assert_eq!(values[0]["streams_in_use"], 3, "{values:?}");

    let ann = Customer::login(&m, ANN).await;
    let html = ann.page("/account/streams").await;
    for title in ["Movie A", "Movie B", "Movie C"] {
        assert!(html.contains(title), "{title} listed: {html}");
    }
    assert!(
        html.contains("Stop 1 stream to be within your plan"),
        "{html}"
    );
    assert!(html.contains("the newest stream will stop"), "{html}");

    let server = jellyfin_server_id(&m).await;
    let r = ann
        .post(
            "/account/streams",
            &[("stream", &format!("{server}:{phone}"))],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account/streams?stopped=1");
    assert_eq!(stopped(&m), vec![phone.clone()]);
    let messages = m.world.jellyfin.session_messages(&phone);
    assert!(
        messages.iter().any(|(_, t)| t.contains("account page")),
        "{messages:?}"
    );
    let html = ann.page("/account/streams?stopped=1").await;
    assert!(html.contains("Stopped 1 stream."), "{html}");
    assert!(!html.contains("id=\"streams-over\""), "{html}");

    // Within the limit now: the grace ending stops nothing more.
    pass(&m).await;
    pass(&m).await;
    pass(&m).await;
    assert_eq!(stopped(&m), vec![phone]);
    let audit = m.t.app.recent_audit(50).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "enforcement.stream_stopped"
                && a.detail.contains("chosen by the customer")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn when_the_customer_does_not_choose_the_newest_stream_stops_after_the_grace_period() {
    let m = media_test().await;
    let [_, _, newest] = ann_over_the_limit_with_a_choice(&m).await;
    // Five minutes into the ten-minute grace: still nothing stopped.
    assert_eq!(pass(&m).await.stopped, 0);
    assert!(stopped(&m).is_empty());
    let ended = pass(&m).await;
    assert_eq!(ended.stopped, 1, "{ended:?}");
    assert_eq!(stopped(&m), vec![newest]);
    assert_eq!(queued_notices(&m, "stream_limit_exceeded").await, 1);
    assert_eq!(queued_notices(&m, "stream_limit_choose").await, 1);
}

#[tokio::test]
async fn another_customer_neither_sees_nor_stops_someone_elses_streams() {
    let m = media_test().await;
    let [anns, _, _] = ann_over_the_limit_with_a_choice(&m).await;
    invite(
        &m,
        json!({"email": BEA, "plan_id": 1, "transaction_id": "tx-bea"}),
    )
    .await;
    m.t.run_pending_jobs().await;
    let bea = Customer::login(&m, BEA).await;
    let html = bea.page("/account/streams").await;
    assert!(
        !html.contains("Movie A") && !html.contains("Movie C"),
        "{html}"
    );
    assert!(html.contains("id=\"no-streams\""), "{html}");

    let server = jellyfin_server_id(&m).await;
    let r = bea
        .post(
            "/account/streams",
            &[("stream", &format!("{server}:{anns}"))],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(stopped(&m).is_empty());

    // Without a session the page asks for a login.
    let anonymous = client()
        .get(m.t.url("/account/streams"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 303);
    assert!(location(&anonymous).starts_with("/login"));
}

#[tokio::test]
async fn a_stop_with_no_stream_or_a_malformed_one_is_refused_and_stops_nothing() {
    let m = media_test().await;
    ann_over_the_limit_with_a_choice(&m).await;
    let ann = Customer::login(&m, ANN).await;
    let r = ann.post("/account/streams", &[]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("Choose at least one stream to stop."),
        "{html}"
    );
    let r = ann
        .post("/account/streams", &[("stream", "not-a-stream")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(stopped(&m).is_empty());
}
