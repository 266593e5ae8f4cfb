//! `boxoffice demo`, run as the real binary: its first line describes a working site seeded with
//! the catalogue of the bulk-invite fixtures on the sandbox's fakes; every valid fixture imports
//! through the API and through `boxoffice users bulk-invite` on its data directory, and the
//! shares appear on the fake servers.

use crate::bulk_invite::fixture;
use crate::cli::bin;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const VALID: [&str; 3] = [
    "valid-minimal.csv",
    "valid-all-columns.csv",
    "valid-semicolon-bom-crlf.csv",
];

/// Who each valid fixture invites, and where: (e-mail, server, Jellyfin/Emby username).
const EXPECTED: [(&str, &str, &str); 9] = [
    ("alice@example.com", "Plex Alpha", ""),
    ("bob@example.com", "Plex Beta", ""),
    ("carol@example.org", "Plex Alpha", ""),
    ("dave@example.com", "Plex Alpha", ""),
    ("erin@example.com", "Jelly One", "erin"),
    ("frank@example.com", "Emby One", "frank_e"),
    ("grace@example.com", "Plex Beta", ""),
    ("heidi@example.com", "Plex Beta", ""),
    ("ivan@example.net", "Plex Alpha", ""),
];

struct Demo {
    child: Child,
    line: Value,
}

impl Demo {
    fn start(args: &[&str]) -> Demo {
        let mut child = bin()
            .arg("demo")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        let line: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first:?}"));
        Demo { child, line }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.s("url"))
    }

    fn s(&self, key: &str) -> String {
        self.line[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing in {}", self.line))
            .to_string()
    }

    fn data_dir(&self) -> String {
        self.s("data_dir")
    }

    /// An API token made by `boxoffice admin token create` on the demo's data directory.
    fn token(&self) -> String {
        let email = self.line["admin"]["email"].as_str().expect("admin email");
        let out = bin()
            .args(["--data-dir", &self.data_dir()])
            .args([
                "admin",
                "token",
                "create",
                "--email",
                email,
                "--name",
                "demo test",
            ])
            .output()
            .expect("token");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    async fn control_state(&self, service: &Value) -> Value {
        let control = service["control"].as_str().expect("control url");
        crate::helpers::client()
            .get(format!("{control}/state"))
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("json")
    }

    /// Every expected user reaches the fake named for its row.
    async fn assert_shares_on_fakes(&self) {
        let sb = &self.line["sandbox"];
        let plex = self.control_state(&sb["plex_tv"]).await;
        let jf = self.control_state(&sb["jellyfin"]).await;
        let emby = self.control_state(&sb["emby"]).await;
        for (email, server, username) in EXPECTED {
            let (state, found) = match server {
                "Jelly One" => (&jf, has_user(&jf, username)),
                "Emby One" => (&emby, has_user(&emby, username)),
                _ => (
                    &plex,
                    plex["access"].as_array().into_iter().flatten().any(|a| {
                        a["server"] == server
                            && a["email"]
                                .as_str()
                                .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    }),
                ),
            };
            assert!(found, "{email} on {server}: {}", state["access"]);
        }
    }
}

fn has_user(state: &Value, name: &str) -> bool {
    state["access"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["name"] == name)
        .count()
        == 1
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The directory a demo made for itself is this test's to remove.
        let dir = std::path::PathBuf::from(self.data_dir());
        if dir.starts_with(std::env::temp_dir())
            && dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("boxoffice-demo-"))
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn upload(d: &Demo, token: &str, name: &str) -> (u16, Value) {
    let b = "demo-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(&fixture(name));
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let r = crate::helpers::client()
        .post(d.url("/api/v1/bulk-invites"))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .expect("upload");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_fresh_demo_prints_its_site_and_imports_every_valid_fixture_through_the_api() {
    let d = Demo::start(&[]);
    assert!(
        d.data_dir().contains("boxoffice-demo-"),
        "a new directory by default: {}",
        d.data_dir()
    );
    for key in ["url", "data_dir", "database_url"] {
        assert!(!d.s(key).is_empty(), "{key}");
    }
    assert!(
        d.line["admin"]["password"]
            .as_str()
            .is_some_and(|p| p.len() >= 12)
    );
    assert!(
        d.line["sandbox"]["plex_tv"]["url"].is_string(),
        "{}",
        d.line
    );
    let login = crate::helpers::client()
        .get(d.url("/login"))
        .send()
        .await
        .expect("login page");
    let html = login.text().await.expect("html");
    assert!(
        html.contains("class=\"demo-banner\""),
        "every page says it is a demo"
    );

    // The demo customer logs in and sees an active plan on My account.
    let customer = crate::helpers::client();
    let email = d.line["customer"]["email"]
        .as_str()
        .expect("customer email");
    let password = d.line["customer"]["password"]
        .as_str()
        .expect("customer password");
    let csrf = crate::helpers::csrf_from(
        &customer
            .get(d.url("/login"))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("html"),
    );
    let r = customer
        .post(d.url("/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .expect("log in");
    assert_eq!(crate::helpers::location(&r), "/account", "{email} logs in");
    let account = customer
        .get(d.url("/account"))
        .send()
        .await
        .expect("account")
        .text()
        .await
        .expect("html");
    assert!(account.contains("Basic"), "the customer's plan: {account}");
    assert!(account.contains(email));
    // Registration is open to a newcomer.
    let register = customer_status(&d, "/register").await;
    assert_eq!(register, 200);

    let token = d.token();
    let http = crate::helpers::client();
    for name in VALID {
        let (s, v) = upload(&d, &token, name).await;
        assert_eq!(s, 202, "{name}: {v}");
        let id = v["id"].as_i64().expect("id");
        // The demo's own workers run the job on real time: follow it as a client would.
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            let v: Value = http
                .get(d.url(&format!("/api/v1/bulk-invites/{id}")))
                .bearer_auth(&token)
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("json");
            if v["remaining"] == 0 || Instant::now() > deadline {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(status["remaining"], 0, "{name}: {status}");
        assert_eq!(status["failed_rows"], 0, "{name}: {status}");
    }
    d.assert_shares_on_fakes().await;
}

#[tokio::test]
async fn the_cli_imports_every_valid_fixture_into_a_running_demo() {
    let dir = crate::helpers::temp_dir();
    let data = dir.join("demo-data");
    let d = Demo::start(&["--data-dir", &data.display().to_string(), "--port", "0"]);
    assert_eq!(d.data_dir(), data.display().to_string());
    for name in VALID {
        let file = dir.join(name);
        std::fs::write(&file, fixture(name)).expect("write");
        let config = format!("{}/demo.toml", d.data_dir());
        let out = bin()
            .args(["--config", &config])
            .args(["users", "bulk-invite"])
            .arg(&file)
            .output()
            .expect("bulk-invite");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(" 0 failed"), "{name}: {stdout}");
    }
    d.assert_shares_on_fakes().await;
}

/// Polls a fake's control API until `done` holds for its JSON answer (the demo's workers run on
/// real time, so a client waits as it would for any server).
async fn customer_status(d: &Demo, path: &str) -> u16 {
    crate::helpers::client()
        .get(d.url(path))
        .send()
        .await
        .expect("page")
        .status()
        .as_u16()
}

async fn wait_for(url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let http = crate::helpers::client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v: Value = http
            .get(url)
            .send()
            .await
            .expect("control API")
            .json()
            .await
            .expect("json");
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within 60 s: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn find_id(list: &Value, name: &str) -> i64 {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name)
        .and_then(|v| v["id"].as_i64())
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

#[tokio::test]
async fn the_demos_notifications_land_in_the_smtp_catcher_and_the_fake_discord() {
    let d = Demo::start(&[]);
    let smtp = &d.line["sandbox"]["smtp"];
    let catcher = smtp["control"].as_str().expect("smtp control").to_string();
    assert!(smtp["port"].as_u64().is_some(), "{smtp}");
    let token = d.token();
    let http = crate::helpers::client();
    let get = |path: &str| {
        http.get(d.url(&format!("/api/v1{path}")))
            .bearer_auth(&token)
            .send()
    };
    let servers: Value = get("/servers")
        .await
        .expect("servers")
        .json()
        .await
        .expect("json");
    let plans: Value = get("/plans")
        .await
        .expect("plans")
        .json()
        .await
        .expect("json");
    let r = http
        .post(d.url("/api/v1/invites"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "email": "zoe@example.com",
            "plan_id": find_id(&plans, "Basic"),
            "server_id": find_id(&servers, "Jelly One"),
        }))
        .send()
        .await
        .expect("invite");
    assert_eq!(r.status(), 201);

    // The customer's payment receipt and Jellyfin invite, with a password link on the demo's site.
    let mail = wait_for(
        &format!("{catcher}/messages?to=zoe@example.com"),
        "two e-mails to the customer",
        |v| v.as_array().is_some_and(|a| a.len() >= 2),
    )
    .await;
    let invite = mail
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["subject"] == "You're invited to Jelly One on Jellyfin")
        .unwrap_or_else(|| panic!("the invite in {mail}"));
    let text = invite["text"].as_str().expect("text");
    assert!(
        text.contains(&format!("{}/media-password/", d.s("url"))),
        "{text}"
    );
    let page = http
        .get(crate::media_password::link_in(text))
        .send()
        .await
        .expect("link");
    assert_eq!(page.status(), 200);

    // An administrator message (a visitor's Contact Us) reaches the admin e-mail and the fake
    // Discord's admin channel.
    let html = http
        .get(d.url("/contact"))
        .send()
        .await
        .expect("contact")
        .text()
        .await
        .expect("html");
    let csrf = crate::helpers::csrf_from(&html);
    let r = http
        .post(d.url("/contact"))
        .form(&[
            ("name", "Visitor"),
            ("email", "visitor@example.com"),
            ("message", "Do you have documentaries?"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("contact");
    assert_eq!(r.status(), 303);
    let admin = d.line["admin"]["email"].as_str().expect("admin email");
    wait_for(
        &format!("{catcher}/messages?to={admin}"),
        "the contact message by e-mail",
        |v| {
            v.as_array().into_iter().flatten().any(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Do you have documentaries?"))
            })
        },
    )
    .await;
    let discord = d.line["sandbox"]["discord"]["control"]
        .as_str()
        .expect("discord control");
    wait_for(
        &format!("{discord}/messages"),
        "the contact message on Discord",
        |v| v.to_string().contains("Do you have documentaries?"),
    )
    .await;
}

#[tokio::test]
async fn a_stray_demo_file_in_the_data_directory_does_not_redirect_plex_tv() {
    let db = crate::helpers::test_db().await;
    let dir = crate::helpers::temp_dir();
    std::fs::write(
        dir.join("demo.json"),
        r#"{"plex_tv":{"url":"http://127.0.0.1:9"}}"#,
    )
    .expect("write demo.json");
    let mut cfg = crate::helpers::test_config(&db.url, &dir);
    let app =
        boxoffice::startup::build_app(&cfg, std::sync::Arc::new(boxoffice_domain::SystemClock))
            .await
            .expect("build");
    assert_eq!(app.media.plex_tv_url(), "https://plex.tv");

    cfg.plex_tv_url = Some("http://127.0.0.1:32401".into());
    let app =
        boxoffice::startup::build_app(&cfg, std::sync::Arc::new(boxoffice_domain::SystemClock))
            .await
            .expect("build");
    assert_eq!(app.media.plex_tv_url(), "http://127.0.0.1:32401");
}

#[tokio::test]
async fn the_demo_points_every_gateway_at_its_fake_and_takes_their_signed_webhooks() {
    let d = Demo::start(&[]);
    let sandbox = &d.line["sandbox"];
    let http = crate::helpers::client();
    // The fakes deliver to this demo's webhook routes.
    for (gateway, route) in [
        ("stripe", "/webhooks/stripe"),
        ("paypal", "/webhooks/paypal"),
    ] {
        let control = sandbox[gateway]["control"].as_str().expect("control");
        let hook: Value = http
            .get(format!("{control}/webhook"))
            .send()
            .await
            .expect("control API")
            .json()
            .await
            .expect("json");
        assert_eq!(hook["url"], json!(d.url(route)), "{gateway}: {hook}");
    }
    // Stripe's webhook secret is configured: a signed event is taken, a forged one refused.
    let secret = sandbox["stripe"]["webhook_secret"]
        .as_str()
        .expect("secret");
    let body = r#"{"id":"evt_demo_1","object":"event","type":"customer.created","created":1,"data":{"object":{}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    for (sig, want) in [
        (
            boxoffice_payments::stripe::signature::header(secret, now, body.as_bytes()),
            200,
        ),
        (
            boxoffice_payments::stripe::signature::header("whsec_forged", now, body.as_bytes()),
            400,
        ),
    ] {
        let r = http
            .post(d.url("/webhooks/stripe"))
            .header("Stripe-Signature", sig)
            .body(body)
            .send()
            .await
            .expect("webhook");
        assert_eq!(r.status().as_u16(), want);
    }
}
