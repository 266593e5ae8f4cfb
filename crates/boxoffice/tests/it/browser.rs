//! Browser flows in headless Debian chromium driven over WebDriver (chromedriver), against the
//! real `boxoffice` binary. Skipped with a message when chromium-driver is not installed, unless
//! BOXOFFICE_REQUIRE_BROWSER=1 (CI sets it), where a missing browser fails the test.

use crate::cli::{bin, run_with_stdin, serve};
use boxoffice_app::totp;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// None (with a note) when no browser is installed and none is required.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            if std::env::var("BOXOFFICE_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!(
                    "BOXOFFICE_REQUIRE_BROWSER=1 but {CHROMEDRIVER} or {CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
                );
            }
            eprintln!("browser test skipped: install chromium and chromium-driver to run it");
            return None;
        }
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut out = BufReader::new(driver.stdout.take().expect("stdout"));
        let mut line = String::new();
        // chromedriver says when it listens; reading that line is the readiness signal.
        while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("started successfully") {
            line.clear();
        }
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        let profile = crate::helpers::temp_dir();
        let mut options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.display())]
        });
        // A headless window is at least 500 px wide; a phone's viewport is emulated instead.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        crate::helpers::install_tls();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        let b = Browser {
            http,
            session,
            driver,
            base,
        };
        // Element look-ups wait for the element (a navigation in progress), up to 10 s.
        b.cmd(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"implicit": 10_000, "pageLoad": 30_000})),
        )
        .await;
        Some(b)
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        if v["value"].get("error").is_some() {
            return Err(v["value"].clone());
        }
        Ok(v["value"].clone())
    }

    /// Reads something of an element, finding it again when a page that refreshes itself
    /// replaced it between the look-up and the read.
    async fn read_element(&self, css: &str, what: &str) -> String {
        for _ in 0..5 {
            let el = self.find(css).await;
            match self
                .try_cmd(reqwest::Method::GET, &format!("/element/{el}/{what}"), None)
                .await
            {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                // Chromium reports the replaced element either way, depending on when the
                // page swapped it.
                Err(e)
                    if e["error"] == "stale element reference"
                        || e["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("does not belong to the document")) =>
                {
                    continue;
                }
                Err(e) => panic!("webdriver {css} {what}: {e}"),
            }
        }
        panic!("{css} kept going stale while reading {what}")
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types into an element without clearing it first (a file input takes a path this way).
    pub async fn send_keys(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.read_element(css, &format!("attribute/{name}")).await
    }

    pub async fn text(&self, css: &str) -> String {
        self.read_element(css, "text").await
    }

    /// Waits until the page named `page` (its `<main data-page>`) is showing.
    pub async fn on_page(&self, page: &str) {
        self.find(&format!("main[data-page='{page}']")).await;
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `js` (a function body; `return` gives the answer) in the page.
    pub async fn script(&self, js: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    /// Runs `js` as an async script: it answers by calling `done(value)`. WebDriver waits for
    /// the call (up to its script timeout).
    pub async fn script_async(&self, js: &str) -> Value {
        let body = format!("const done = arguments[arguments.length - 1];\n{js}");
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": body, "args": []})),
        )
        .await
    }

    /// Saves a PNG under target/screenshots for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        if let Some(b64) = v.as_str()
            && let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64)
        {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }

    /// Forgets every cookie of the current site (logs the browser out).
    pub async fn clear_cookies(&self) {
        self.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    }

    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn log_in(b: &Browser, url: &str) {
    b.goto(&format!("{url}/login")).await;
    b.fill("input[name=email]", "owner@example.com").await;
    b.fill("input[name=password]", "Sup3r-Secret!").await;
    b.click("form[action='/login'] button[type=submit]").await;
}

async fn log_out(b: &Browser) {
    b.click("form[action='/logout'] button").await;
    b.on_page("login").await;
}

#[tokio::test]
async fn admin_made_by_cli_logs_in_enrols_totp_and_a_reused_code_is_refused() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let dir = crate::helpers::temp_dir();
    let made = run_with_stdin(
        bin()
            .args(["admin", "create", "--email", "owner@example.com"])
            .env("BOXOFFICE_DATA_DIR", &dir),
        "Sup3r-Secret!\n",
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (mut server, url, _) = serve(&dir, false);

    log_in(&b, &url).await;
    b.on_page("dashboard").await;
    assert_eq!(b.url().await, format!("{url}/admin"));
    assert!(
        b.source()
            .await
            .contains("Two-factor authentication is off")
    );
    b.screenshot("admin-dashboard").await;

    b.goto(&format!("{url}/security")).await;
    b.click("form[action='/security/totp/start'] button").await;
    b.on_page("security").await;
    let secret = totp::base32_decode(&b.text("#totp-secret").await).expect("secret shown");
    let t0 = now();
    b.fill(
        "input[name=code]",
        &totp::code_for_step(&secret, totp::step_at(t0)),
    )
    .await;
    b.click("form[action='/security/totp/confirm'] button")
        .await;
    b.find("#recovery-codes").await;
    assert!(b.text("#totp-status").await.starts_with("On"));
    assert!(b.source().await.contains("recovery-codes"));
    b.screenshot("security-recovery-codes").await;

    log_out(&b).await;
    assert!(b.url().await.ends_with("/login?notice=logged_out"));

    log_in(&b, &url).await;
    b.on_page("two_factor").await;
    let code = totp::code_for_step(&secret, totp::step_at(t0) + 1);
    b.fill("input[name=code]", &code).await;
    b.click("form[action='/login/2fa'] button[type=submit]")
        .await;
    b.on_page("dashboard").await;
    assert_eq!(b.url().await, format!("{url}/admin"));

    log_out(&b).await;
    log_in(&b, &url).await;
    b.on_page("two_factor").await;
    b.fill("input[name=code]", &code).await;
    b.click("form[action='/login/2fa'] button[type=submit]")
        .await;
    assert!(b.text(".alert.error").await.contains("already used"));
    assert!(b.url().await.contains("/login/2fa"));
    b.screenshot("reused-code-refused").await;

    b.quit().await;
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn the_admin_panel_works_on_a_phone_sized_screen() {
    let Some(b) = Browser::start(390, 844).await else {
        return;
    };
    let dir = crate::helpers::temp_dir();
    let made = run_with_stdin(
        bin()
            .args(["admin", "create", "--email", "owner@example.com"])
            .env("BOXOFFICE_DATA_DIR", &dir),
        "Sup3r-Secret!\n",
    );
    assert!(made.status.success());
    let (mut server, url, _) = serve(&dir, false);
    log_in(&b, &url).await;
    b.on_page("dashboard").await;
    b.screenshot("phone-dashboard-closed").await;
    b.click(".nav-toggle").await;
    b.screenshot("phone-menu-open").await;
    b.click("#mainnav a[href='/admin/settings']").await;
    b.on_page("settings").await;
    b.click("main a[href='/admin/settings/general']").await;
    b.find("form[action='/admin/settings/general']").await;
    b.fill("input[name='general.site_name']", "Movie Club")
        .await;
    b.click("form.settings button[type=submit]").await;
    b.find(".alert.info").await;
    assert!(b.source().await.contains("Saved."));
    assert!(b.text(".brand").await.contains("Movie Club"));
    b.screenshot("phone-settings").await;
    b.quit().await;
    let _ = server.kill();
    let _ = server.wait();
}
