//! What every answer carries to protect the browser, who may read `/metrics`, and how the site
//! refuses requests it cannot accept.

use crate::helpers::*;

#[tokio::test]
async fn metrics_answer_only_with_the_configured_token() {
    let t = spawn_app_with(|c| {
        c.metrics.token = Some(boxoffice_config::Secret::new("scrape-me-please"));
    })
    .await;
    let r = t.get("/metrics").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
    let wrong = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("boxoffice_up 1"));
    // Health checks stay open: a load balancer has no token.
    assert_eq!(t.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_on_an_address_of_their_own_leave_the_site() {
    let t = spawn_app_with(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    assert_eq!(t.get("/metrics").await.status(), 404);
    let base = t.metrics_base.clone().expect("metrics listener");
    let r = t
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("boxoffice_up 1"));
    // Only /metrics is there.
    let other = t.client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(other.status(), 404);
}

use boxoffice_domain::Permission;
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const STAFF_PASSWORD: &str = "Supp0rt-pw!";

/// A staff login whose custom role holds exactly `permissions`; its login id and role id.
pub(crate) async fn staff_with(t: &TestApp, email: &str, permissions: &[Permission]) -> (i64, i64) {
    let role = boxoffice_store::roles::create_custom(t.app.db.ex(), email, permissions, 0)
        .await
        .expect("role");
    let login = t
        .app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            email,
            STAFF_PASSWORD,
            boxoffice_domain::RoleKind::User,
        )
        .await
        .expect("login");
    boxoffice_store::logins::set_role(t.app.db.ex(), login.id, role.id)
        .await
        .expect("role set");
    (login.id, role.id)
}

pub(crate) async fn token_of(t: &TestApp, email: &str) -> String {
    t.app
        .create_api_token(&boxoffice_app::audit::Actor::cli(), email, "tests")
        .await
        .expect("token")
        .secret
}

/// A browser of its own (cookie jar), logged in as `email`.
pub(crate) async fn browser_as(t: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(t.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(t.url("/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{email} logs in");
    c
}

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = t
        .client
        .request(method, t.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some((content_type, bytes)) = body {
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        req = req.body(bytes);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, v)
}

fn assert_protected(h: &reqwest::header::HeaderMap, what: &str) {
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    let script = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(!script.contains("unsafe"), "{what}: {script}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("object-src 'none'"), "{what}: {csp}");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{what}");
    assert_eq!(
        h.get("x-content-type-options").unwrap(),
        "nosniff",
        "{what}"
    );
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{what}");
}

#[tokio::test]
async fn pages_api_answers_and_exports_carry_the_browser_protections() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    t.login_admin().await;

    let page = t.get("/admin").await;
    assert_eq!(page.status(), 200);
    assert_protected(page.headers(), "a page");
    assert_eq!(page.headers().get("cache-control").unwrap(), "no-store");

    let export = t.get("/admin/users/export.csv").await;
    assert_eq!(export.status(), 200);
    assert_protected(export.headers(), "an export");
    assert_eq!(export.headers().get("cache-control").unwrap(), "no-store");

    let (s, h, _) = call(&t, &token, Method::GET, "/me", None).await;
    assert_eq!(s, 200);
    assert_protected(&h, "an API answer");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");

    // Errors too, and the login page a visitor sees first.
    let missing = t.get("/no-such-page").await;
    assert_protected(missing.headers(), "a 404");
    assert_protected(t.get("/login").await.headers(), "the login page");
    // Plain http: no HSTS (a browser would refuse the site over http for a year).
    assert!(page.headers().get("strict-transport-security").is_none());
    // Static files may be cached; they still may not be sniffed.
    let css = t.get("/static/app.css").await;
    assert_eq!(
        css.headers().get("cache-control").unwrap(),
        "public, max-age=3600"
    );
    assert_eq!(
        css.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
}

#[tokio::test]
async fn hsts_is_sent_when_the_site_is_reached_over_https() {
    let t = spawn_app_with(|c| c.public_url = Some("https://tv.example.com".into())).await;
    let r = t.get("/login").await;
    assert_eq!(
        r.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
}

/// The CSP allows scripts only from our own files: an inline script or an `on…=` attribute in a
/// template would silently stop working in the browser.
#[test]
fn no_template_has_an_inline_script_or_event_handler() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("templates") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/templates"),
        &mut files,
    );
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let html = std::fs::read_to_string(&f).expect("read").to_lowercase();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..html[i..].find('>').map_or(html.len(), |e| i + e)];
            assert!(
                tag.contains(" src="),
                "{}: inline script {tag}",
                f.display()
            );
        }
        for word in html.split(|c: char| c.is_whitespace()) {
            let is_handler = word.starts_with("on")
                && word.contains('=')
                && word[2..word.find('=').unwrap_or(2)]
                    .chars()
                    .all(|c| c.is_ascii_lowercase());
            assert!(!is_handler, "{}: event handler {word}", f.display());
        }
        assert!(!html.contains("javascript:"), "{}", f.display());
    }
}

#[tokio::test]
async fn a_caller_without_the_permission_gets_403_before_its_body_is_read() {
    let t = spawn_app().await;
    t.create_admin().await;
    let admin = t.admin_token().await;
    staff_with(&t, "nobody@example.com", &[]).await;
    let nobody = token_of(&t, "nobody@example.com").await;

    // Every operation documented with a body, sent a body that is not even JSON.
    let (_, _, doc) = call(&t, &admin, Method::GET, "/openapi.json", None).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            if op.get("requestBody").is_none() || path.starts_with("/api/v1/me/") {
                // `/me/…` is the caller's own account: no permission to hold.
                continue;
            }
            let concrete = path
                .trim_start_matches("/api/v1")
                .split('/')
                .map(|s| if s.starts_with('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let bad = Some(("application/json", b"{ not json".to_vec()));
            let (s, _, v) = call(&t, &nobody, m.clone(), &concrete, bad.clone()).await;
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert_eq!(v["error"]["code"], "forbidden", "{method} {path}: {v}");
            // The administrator sending the same thing hears about the body instead.
            let (s, _, v) = call(&t, &admin, m, &concrete, bad).await;
            assert_eq!(s, 400, "{method} {path}: {v}");
            assert_eq!(v["error"]["code"], "malformed_json", "{method} {path}: {v}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} operations with a body");
    // The CSV upload is multipart, not JSON: the same order holds.
    let junk = Some((
        "multipart/form-data; boundary=x",
        b"--x\r\nnonsense".to_vec(),
    ));
    let (s, _, v) = call(&t, &nobody, Method::POST, "/bulk-invites", junk).await;
    assert_eq!(s, 403, "{v}");
}

/// A request, and the status, error code and field it must be answered with.
type Refusal = (
    Method,
    &'static str,
    Option<(&'static str, Vec<u8>)>,
    u16,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn extractor_refusals_answer_the_api_error_shape() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let cases: Vec<Refusal> = vec![
        (
            Method::POST,
            "/plans",
            Some(("application/json", br#"{"name": 5}"#.to_vec())),
            422,
            "invalid",
            Some("name"),
        ),
        (
            Method::POST,
            "/plans",
            Some(("", b"name=Basic".to_vec())),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            Method::PATCH,
            "/settings",
            Some(("application/json", b"{".to_vec())),
            400,
            "malformed_json",
            None,
        ),
        (
            Method::GET,
            "/customers/abc",
            None,
            400,
            "invalid_path",
            None,
        ),
        (
            Method::GET,
            "/libraries?server_id=abc",
            None,
            400,
            "invalid",
            Some("server_id"),
        ),
        (
            Method::DELETE,
            "/settings",
            None,
            405,
            "method_not_allowed",
            None,
        ),
    ];
    for (method, path, body, status, code, field) in cases {
        let (s, h, v) = call(&t, &token, method.clone(), path, body).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        assert!(
            h.get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{method} {path}: {v}"
        );
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{method} {path}: {v}");
        }
    }
}

#[tokio::test]
async fn a_json_body_may_be_as_large_as_the_configured_limit() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    // 3 MiB, under the default 10 MiB: read and judged (the name is too long), not cut off.
    let big = json!({"general.site_name": "x".repeat(3 << 20)}).to_string();
    let (s, _, v) = call(
        &t,
        &token,
        Method::PATCH,
        "/settings",
        Some(("application/json", big.into_bytes())),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "value", "{v}");

    let t = spawn_app_with(|c| c.web.max_body_bytes = 4096).await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let over = json!({"general.site_name": "x".repeat(8192)}).to_string();
    let (s, _, v) = call(
        &t,
        &token,
        Method::PATCH,
        "/settings",
        Some(("application/json", over.into_bytes())),
    )
    .await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(v["error"]["code"], "too_large", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("4096"),
        "{v}"
    );
}

fn multipart(csrf: Option<&str>, file: &[u8]) -> (String, Vec<u8>) {
    let b = "websec-boundary";
    let mut body = Vec::new();
    if let Some(c) = csrf {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{c}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

#[tokio::test]
async fn an_oversized_csv_is_refused_with_the_file_size_message() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let limit = boxoffice_domain::bulk_invite::MAX_FILE_BYTES;
    // Larger than the upload's own body limit, smaller than the site's.
    let mut file = b"Email,Server Name,Plan Name\n".to_vec();
    while file.len() < limit + 200 * 1024 {
        file.extend_from_slice(b"someone@example.com,Plex Alpha,Basic\n");
    }
    let (ct, body) = multipart(None, &file);
    let (s, _, v) = call(&t, &token, Method::POST, "/bulk-invites", Some((&ct, body))).await;
    assert_eq!(s, 422, "{v}");
    let message = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("larger than 5242880 bytes (5 MiB)") && message.contains("split it"),
        "{v}"
    );

    // The upload page says the same.
    t.login_admin().await;
    let csrf = csrf_from(&t.get_html("/admin/users/bulk-invite").await);
    let (ct, body) = multipart(Some(&csrf), &file);
    let r = t
        .client
        .post(t.url("/admin/users/bulk-invite"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("larger than 5242880 bytes (5 MiB)"), "{page}");
}

#[tokio::test]
async fn a_text_setting_refuses_a_value_that_is_not_a_json_string() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let patch = |body: Value| {
        let (t, token) = (&t, token.clone());
        async move {
            call(
                t,
                &token,
                Method::PATCH,
                "/settings",
                Some(("application/json", body.to_string().into_bytes())),
            )
            .await
        }
    };
    for wrong in [json!(5), json!(true), json!(null), json!(["Box"])] {
        let (s, _, v) = patch(json!({"general.site_name": wrong})).await;
        assert_eq!(s, 422, "{wrong}: {v}");
        assert_eq!(v["error"]["field"], "value", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("general.site_name"),
            "{v}"
        );
    }
    let name = t
        .app
        .settings()
        .await
        .unwrap()
        .get("general.site_name")
        .to_string();
    assert_ne!(name, "5");
    // A yes/no setting still takes a JSON boolean, and a string as before.
    let (s, _, v) = patch(json!({"general.contact_page_enabled": false})).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        !t.app
            .settings()
            .await
            .unwrap()
            .bool("general.contact_page_enabled")
    );
    let (s, _, v) = patch(json!({"general.site_name": "Box TV"})).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn a_form_with_text_that_is_not_utf8_is_refused_and_nothing_is_stored() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let before = t
        .app
        .settings()
        .await
        .unwrap()
        .get("general.site_name")
        .to_string();
    let csrf = csrf_from(&t.get_html("/admin/settings").await);
    let r = t
        .client
        .post(t.url("/admin/settings"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&general.site_name=Caf%E9+TV"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("not valid UTF-8") && page.contains("general.site_name"),
        "{page}"
    );
    let after = t
        .app
        .settings()
        .await
        .unwrap()
        .get("general.site_name")
        .to_string();
    assert_eq!(after, before);
    assert!(!after.contains('\u{FFFD}'));
}

#[tokio::test]
async fn payments_are_shown_only_to_a_role_with_payments_read() {
    let t = spawn_app().await;
    t.create_admin().await;
    let db = &t.app.db;
    crate::bulk_invite::seed_plans(db).await;
    let now = t.app.now();
    crate::bulk_invite::exec(db, &format!("INSERT INTO customers (id, email, email_key, plan_id, covered_until, created_at, updated_at) VALUES (7, 'paid@example.com', 'paid@example.com', 1, {}, {now}, {now})", now + 86_400)).await;
    crate::bulk_invite::exec(db, &format!("INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at) VALUES (7, 1, 500, 'USD', {now}, {}, 'Cash', 'TX-PRIVATE-1', {now})", now + 86_400)).await;

    staff_with(&t, "support@example.com", &[Permission::UsersRead]).await;
    staff_with(
        &t,
        "books@example.com",
        &[Permission::UsersRead, Permission::PaymentsRead],
    )
    .await;

    let support = browser_as(&t, "support@example.com", STAFF_PASSWORD).await;
    let page = support.get(t.url("/admin/users/7")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("paid@example.com"));
    assert!(
        !page.contains("id=\"payments\"") && !page.contains("TX-PRIVATE-1"),
        "{page}"
    );
    let books = browser_as(&t, "books@example.com", STAFF_PASSWORD).await;
    let page = books
        .get(t.url("/admin/users/7"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("TX-PRIVATE-1"), "{page}");

    let support = token_of(&t, "support@example.com").await;
    let (s, _, v) = call(&t, &support, Method::GET, "/customers/7", None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v.get("payments").is_none(), "{v}");
    let (s, _, v) = call(&t, &support, Method::GET, "/customers/7/payments", None).await;
    assert_eq!(s, 403, "{v}");
    let books = token_of(&t, "books@example.com").await;
    let (_, _, v) = call(&t, &books, Method::GET, "/customers/7", None).await;
    assert_eq!(v["payments"][0]["transaction_id"], "TX-PRIVATE-1", "{v}");
    let (s, _, v) = call(&t, &books, Method::GET, "/customers/7/payments", None).await;
    assert_eq!((s, &v[0]["amount_minor"]), (200, &json!(500)), "{v}");
}

#[tokio::test]
async fn a_role_change_reaches_a_session_already_open() {
    let t = spawn_app().await;
    let (_, role) = staff_with(&t, "helper@example.com", &[Permission::UsersRead]).await;
    let c = browser_as(&t, "helper@example.com", STAFF_PASSWORD).await;
    let users = |c: &reqwest::Client| {
        let url = t.url("/admin/users");
        let c = c.clone();
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(users(&c).await, 200);
    // The permission is taken away while the session is open.
    boxoffice_store::roles::set_permissions(t.app.db.ex(), role, &[Permission::JobsRead])
        .await
        .unwrap();
    assert_eq!(
        users(&c).await,
        403,
        "the next request already has the new role"
    );
    assert_eq!(
        c.get(t.url("/admin/jobs")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn an_administrator_ends_another_logins_sessions() {
    let t = spawn_app().await;
    t.create_admin().await;
    let (helper, _) = staff_with(&t, "helper@example.com", &[Permission::UsersRead]).await;
    let c = browser_as(&t, "helper@example.com", STAFF_PASSWORD).await;
    let still_in = |c: &reqwest::Client| {
        let url = t.url("/admin/users");
        let c = c.clone();
        async move { c.get(url).send().await.unwrap().status().as_u16() == 200 }
    };
    assert!(still_in(&c).await);

    t.login_admin().await;
    let page = t.get_html("/admin/site-logins").await;
    let row = page
        .split("<tr data-login=")
        .find(|r| r.contains("helper@example.com"))
        .expect("the helper is listed");
    assert!(row.contains("End sessions"), "{row}");
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{helper}/end-sessions"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = t.get_html(&location(&r)).await;
    assert!(
        page.contains("1 session of helper@example.com ended"),
        "{page}"
    );
    assert!(!still_in(&c).await, "the helper is sent to the login page");

    // The same through the API.
    let c = browser_as(&t, "helper@example.com", STAFF_PASSWORD).await;
    let token = t.admin_token().await;
    let (s, _, v) = call(&t, &token, Method::GET, "/logins?q=helper", None).await;
    assert_eq!((s, &v[0]["sessions"]), (200, &json!(1)), "{v}");
    let (s, _, v) = call(
        &t,
        &token,
        Method::DELETE,
        &format!("/logins/{helper}/sessions"),
        None,
    )
    .await;
    assert_eq!((s, &v["ended"]), (200, &json!(1)), "{v}");
    assert!(!still_in(&c).await);
    // Someone who may only look cannot end anything.
    staff_with(&t, "viewer@example.com", &[Permission::SiteLoginsRead]).await;
    let viewer = token_of(&t, "viewer@example.com").await;
    let (s, _, _) = call(
        &t,
        &viewer,
        Method::DELETE,
        &format!("/logins/{helper}/sessions"),
        None,
    )
    .await;
    assert_eq!(s, 403);
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_database_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let parent = temp_dir();
    let dir = parent.join("fresh").join("data");
    let out = crate::cli::bin()
        .args([
            "admin",
            "create",
            "--email",
            "boss@example.com",
            "--password-file",
        ])
        .arg({
            let f = parent.join("pw");
            std::fs::write(&f, "Str0ng-enough!").unwrap();
            f
        })
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for name in [
        "boxoffice.db",
        "secret.key",
        "boxoffice.db-wal",
        "boxoffice.db-shm",
    ] {
        let p = dir.join(name);
        if p.exists() || name == "boxoffice.db" || name == "secret.key" {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
}
