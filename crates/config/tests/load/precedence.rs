use crate::common::Scratch;
use boxoffice_config::{LogFormat, Origin, Overrides, load};
use std::net::SocketAddr;
use std::path::PathBuf;

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let loaded = Scratch::new().load(None, &[]);
    let c = &loaded.config;
    assert_eq!(loaded.file_used, None);
    assert!(loaded.warnings.is_empty());
    assert!(loaded.origins.is_empty());
    assert_eq!(c.listen, addr("127.0.0.1:8080"));
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert!(c.database_url.is_none());
    assert!(c.secret_key.is_none());
    assert_eq!(c.public_url, None);
    assert_eq!(c.log.level, "info");
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.database.max_connections, None);
    assert_eq!(c.database.connect_timeout_secs, 5);
    assert_eq!(c.jobs.workers, 2);
    assert_eq!(c.jobs.lease_secs, 300);
    assert_eq!(c.jobs.poll_interval_ms, 1000);
    assert!(c.jobs.scheduler);
    assert!(c.jobs.run);
    assert_eq!(c.web.secure_cookies, None);
    assert!(!c.web.trust_forwarded_for);
    assert_eq!(c.web.request_timeout_secs, 30);
    assert_eq!(c.web.max_body_bytes, 10 * 1024 * 1024);
    assert_eq!(
        c.effective_database_url(),
        "sqlite://./data/boxoffice.db?mode=rwc"
    );
}

const FILE: &str = r#"
listen = "0.0.0.0:9000"
data_dir = "/srv/boxoffice"
database_url = "postgres://file@db/boxoffice"
public_url = "https://tv.example.com"

[log]
level = "debug"
format = "json"

[database]
max_connections = 20
connect_timeout_secs = 9

[jobs]
workers = 8
lease_secs = 60
poll_interval_ms = 250
scheduler = false
run = false

[web]
secure_cookies = false
trust_forwarded_for = true
request_timeout_secs = 45
max_body_bytes = 2048
"#;

#[test]
fn file_overrides_defaults_for_every_key() {
    let scratch = Scratch::new();
    let loaded = scratch.load(Some(FILE), &[]);
    let c = &loaded.config;
    assert_eq!(loaded.file_used, Some(scratch.config_path()));
    assert_eq!(c.listen, addr("0.0.0.0:9000"));
    assert_eq!(c.data_dir, PathBuf::from("/srv/boxoffice"));
    assert_eq!(c.effective_database_url(), "postgres://file@db/boxoffice");
    assert_eq!(c.public_url.as_deref(), Some("https://tv.example.com"));
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.database.max_connections, Some(20));
    assert_eq!(c.database.connect_timeout_secs, 9);
    assert_eq!(
        (c.jobs.workers, c.jobs.lease_secs, c.jobs.poll_interval_ms),
        (8, 60, 250)
    );
    assert!(!c.jobs.scheduler && !c.jobs.run);
    assert_eq!(c.web.secure_cookies, Some(false));
    assert!(
        !c.secure_cookies(),
        "explicit false wins over the https public_url"
    );
    assert!(c.web.trust_forwarded_for);
    assert_eq!(
        (c.web.request_timeout_secs, c.web.max_body_bytes),
        (45, 2048)
    );
    assert_eq!(
        loaded.origins.get("jobs.workers"),
        Some(&Origin::File {
            path: scratch.config_path(),
            line: 16
        })
    );
}

#[test]
fn env_overrides_file() {
    let scratch = Scratch::new();
    let loaded = scratch.load(
        Some(FILE),
        &[
            ("BOXOFFICE_LISTEN", "[::1]:7000"),
            ("BOXOFFICE_DATA_DIR", "/var/lib/boxoffice"),
            ("BOXOFFICE_DATABASE_URL", "postgres://env@db/boxoffice"),
            ("BOXOFFICE_LOG__FORMAT", "text"),
            ("BOXOFFICE_DATABASE__MAX_CONNECTIONS", "3"),
            ("BOXOFFICE_JOBS__WORKERS", "4"),
            ("BOXOFFICE_JOBS__RUN", "on"),
            ("BOXOFFICE_WEB__SECURE_COOKIES", "1"),
            ("BOXOFFICE_WEB__MAX_BODY_BYTES", "4096"),
        ],
    );
    let c = &loaded.config;
    assert_eq!(c.listen, addr("[::1]:7000"));
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/boxoffice"));
    assert_eq!(c.effective_database_url(), "postgres://env@db/boxoffice");
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(
        c.log.level, "debug",
        "keys the environment leaves alone keep the file's value"
    );
    assert_eq!(c.database.max_connections, Some(3));
    assert_eq!(c.jobs.workers, 4);
    assert!(c.jobs.run);
    assert_eq!(c.web.secure_cookies, Some(true));
    assert_eq!(c.web.max_body_bytes, 4096);
    assert_eq!(
        loaded.origins.get("jobs.workers"),
        Some(&Origin::Env("BOXOFFICE_JOBS__WORKERS".into()))
    );
}

#[test]
fn flags_override_env() {
    let scratch = Scratch::new();
    let mut sources = scratch.sources(
        Some(FILE),
        &[
            ("BOXOFFICE_LISTEN", "[::1]:7000"),
            ("BOXOFFICE_DATA_DIR", "/var/lib/boxoffice"),
            ("BOXOFFICE_DATABASE_URL", "postgres://env@db/boxoffice"),
        ],
    );
    sources.overrides = Overrides {
        listen: Some("127.0.0.1:6000".into()),
        data_dir: Some(PathBuf::from("/flag/data")),
        database_url: Some("sqlite:///flag/db.sqlite".into()),
    };
    let loaded = load(sources).unwrap();
    let c = &loaded.config;
    assert_eq!(c.listen, addr("127.0.0.1:6000"));
    assert_eq!(c.data_dir, PathBuf::from("/flag/data"));
    assert_eq!(c.effective_database_url(), "sqlite:///flag/db.sqlite");
    assert_eq!(
        loaded.origins.get("listen"),
        Some(&Origin::Flag("--listen"))
    );
}

#[test]
fn bad_listen_flag_names_the_flag() {
    let scratch = Scratch::new();
    let mut sources = scratch.sources(None, &[]);
    sources.overrides.listen = Some("localhost".into());
    let error = load(sources).err().unwrap().to_string();
    assert!(
        error.starts_with("--listen \"localhost\": expected an IP address and port"),
        "{error}"
    );
}

#[test]
fn default_database_url_follows_data_dir() {
    let loaded = Scratch::new().load(None, &[("BOXOFFICE_DATA_DIR", "/srv/bo/")]);
    assert_eq!(
        loaded.config.effective_database_url(),
        "sqlite:///srv/bo/boxoffice.db?mode=rwc"
    );
}

#[test]
fn for_process_takes_the_flag_then_boxoffice_config() {
    use boxoffice_config::Sources;
    let env = vec![(
        "BOXOFFICE_CONFIG".to_string(),
        "/etc/boxoffice.toml".to_string(),
    )];

    let sources = Sources::for_process(None, env.clone(), Overrides::default());
    assert_eq!(sources.file, Some(PathBuf::from("/etc/boxoffice.toml")));
    assert!(sources.file_required);

    let sources = Sources::for_process(Some("other.toml".into()), env, Overrides::default());
    assert_eq!(sources.file, Some(PathBuf::from("other.toml")));

    let sources = Sources::for_process(None, Vec::new(), Overrides::default());
    assert_eq!(sources.file, None);
    assert!(!sources.file_required);
}
