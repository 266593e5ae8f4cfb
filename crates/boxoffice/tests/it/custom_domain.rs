//! A custom domain (product §20): once the Site URI is set, a request for another host is
//! refused with a page naming the right address; behind a reverse proxy the forwarded host is
//! believed only from a configured trusted proxy; the address on the machine itself always works.

use crate::helpers::*;
use boxoffice_app::audit::Actor;

const SITE: &str = "https://tv.example.com";

async fn status_for(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = t.client.get(t.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn set_site(t: &TestApp) {
    t.app
        .set_setting(&Actor::system(), "general.site_uri", SITE)
        .await
        .expect("site uri");
}

#[tokio::test]
async fn with_a_site_uri_a_request_for_another_host_is_refused_with_the_right_address() {
    let t = spawn_app().await;
    // Unset, every host is served.
    assert_eq!(
        status_for(&t, "/login", &[("host", "other.example")])
            .await
            .0,
        200
    );
    set_site(&t).await;
    let (status, page) = status_for(&t, "/login", &[("host", "other.example")]).await;
    assert_eq!(status, 421);
    assert!(
        page.contains("This site answers at https://tv.example.com only"),
        "{page}"
    );
    assert_eq!(
        status_for(&t, "/api/v1/me", &[("host", "other.example")])
            .await
            .0,
        421
    );
    assert_eq!(
        status_for(&t, "/login", &[("host", "tv.example.com")])
            .await
            .0,
        200
    );
    assert_eq!(
        status_for(&t, "/login", &[("host", "TV.example.com:443")])
            .await
            .0,
        200
    );
    // Probes call by address; the owner on the machine itself is never locked out.
    assert_eq!(
        status_for(&t, "/healthz", &[("host", "10.1.2.3:8080")])
            .await
            .0,
        200
    );
    assert_eq!(status_for(&t, "/login", &[]).await.0, 200, "127.0.0.1");
    assert_eq!(
        status_for(&t, "/login", &[("host", "localhost:8080")])
            .await
            .0,
        200
    );
    // A forwarded host from a peer that is not a trusted proxy changes nothing.
    let (status, _) = status_for(
        &t,
        "/login",
        &[
            ("host", "tv.example.com"),
            ("x-forwarded-host", "other.example"),
        ],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_host_and_client_address_are_believed() {
    let t = spawn_app_with(|c| c.web.trusted_proxies = Some("127.0.0.1, ::1".into())).await;
    set_site(&t).await;
    let local = [("host", "127.0.0.1:8080")];
    let forwarded = |h: &'static str| {
        [
            local[0],
            ("x-forwarded-host", h),
            ("x-forwarded-proto", "https"),
        ]
    };
    assert_eq!(
        status_for(&t, "/login", &forwarded("other.example"))
            .await
            .0,
        421
    );
    assert_eq!(
        status_for(&t, "/login", &forwarded("tv.example.com"))
            .await
            .0,
        200
    );
    let (status, _) = status_for(
        &t,
        "/login",
        &[
            ("host", "127.0.0.1:8080"),
            (
                "forwarded",
                "for=203.0.113.9;proto=https;host=tv.example.com",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        status_for(
            &t,
            "/login",
            &[("forwarded", "for=203.0.113.9;host=evil.example")]
        )
        .await
        .0,
        421
    );

    // The client address the proxy reports is the one the audit log keeps.
    t.create_admin().await;
    let page = t
        .client
        .get(t.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let r = t
        .client
        .post(t.url("/login"))
        .header("x-forwarded-for", "198.51.100.23")
        .header("x-forwarded-host", "tv.example.com")
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    let audit = t.get_html("/admin/audit").await;
    assert!(audit.contains("198.51.100.23"), "{audit}");
}
