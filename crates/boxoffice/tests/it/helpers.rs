//! `spawn_app()`: the real application on port 0 with a fresh database (SQLite, or PostgreSQL when
//! TEST_DATABASE_URL is set), a test clock, and jobs run only when a test says so.

use boxoffice::startup::Application;
use boxoffice_app::App;
use boxoffice_config::{Config, Secret};
use boxoffice_domain::TestClock;
use boxoffice_jobs::Runner;
use boxoffice_store::testing::{self, TestDb};
use std::path::PathBuf;
use std::sync::Arc;

pub const ADMIN_EMAIL: &str = "owner@example.com";
pub const ADMIN_PASSWORD: &str = "Sup3r-Secret!";

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: TestClock,
    pub runner: Runner,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// `http://…` of `/metrics`'s own listener, when `metrics.listen` is set.
    pub metrics_base: Option<String>,
    _db: TestDb,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client() -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

pub async fn test_db() -> TestDb {
    match testing::postgres().await.expect("postgres test database") {
        Some(pg) => pg,
        None => testing::sqlite().await.expect("sqlite test database"),
    }
}

pub fn test_config(db_url: &str, data_dir: &std::path::Path) -> Config {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(Secret::new(db_url.to_string())),
        ..Config::default()
    };
    cfg.jobs.run = false;
    cfg
}

pub fn temp_dir() -> PathBuf {
    let mut b = [0u8; 8];
    unique_bytes(&mut b);
    let d = std::env::temp_dir().join(format!(
        "boxoffice-it-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn unique_bytes(b: &mut [u8]) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let v = (t as u64)
        ^ N.fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::SeqCst)
        ^ ((std::process::id() as u64) << 40);
    for (i, x) in b.iter_mut().enumerate() {
        *x = (v >> ((i % 8) * 8)) as u8;
    }
}

pub async fn spawn_app() -> TestApp {
    let db = test_db().await;
    spawn_app_on(db).await
}

pub async fn spawn_app_on(db: TestDb) -> TestApp {
    spawn_app_configured(db, |_| {}).await
}

/// Like [`spawn_app`], with configuration of the test's own on top of the test defaults.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_configured(test_db().await, configure).await
}

async fn spawn_app_configured(db: TestDb, configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = temp_dir();
    let mut cfg = test_config(&db.url, &data_dir);
    configure(&mut cfg);
    let clock = TestClock::starting_now();
    let application = Application::build(&cfg, Arc::new(clock.clone()), false)
        .await
        .expect("application starts");
    let base = format!("http://{}", application.local_addr());
    let metrics_base = application.metrics_addr().map(|a| format!("http://{a}"));
    let app = application.app.clone();
    let runner = application.runner();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        app,
        clock,
        runner,
        client: client(),
        data_dir,
        metrics_base,
        _db: db,
        _shutdown: tx,
    }
}

/// Pulls `name="csrf" value="…"` out of a page.
pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_string()
}

pub fn extract_by_id(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('<').next()?.to_string())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The database's URL, for a `boxoffice serve` process of a test's own on the same data.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    pub async fn run_pending_jobs(&self) -> usize {
        self.runner.run_pending().await.expect("jobs run")
    }

    pub fn advance_clock(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    pub async fn create_admin(&self) {
        self.app
            .create_administrator(
                &boxoffice_app::audit::Actor::cli(),
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
            )
            .await
            .expect("admin created");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// Posts a form with the CSRF token of the page at `form_page`.
    pub async fn post_form(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = csrf_from(&self.get_html(form_page).await);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        self.client
            .post(self.url(action))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn login_admin(&self) {
        let r = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303, "admin login");
    }

    pub async fn admin_token(&self) -> String {
        self.app
            .create_api_token(&boxoffice_app::audit::Actor::cli(), ADMIN_EMAIL, "tests")
            .await
            .expect("token")
            .secret
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
