use crate::common::Scratch;
use boxoffice_config::{ConfigError, LogFormat};
use std::path::PathBuf;

#[test]
fn unknown_variable_warns_with_the_closest_known_name() {
    let loaded = Scratch::new().load(
        None,
        &[
            ("BOXOFFICE_LISTN", "0.0.0.0:1"),
            ("BOXOFFICE_JOBS_WORKERS", "3"),
        ],
    );
    assert_eq!(
        loaded.warnings,
        [
            "unknown environment variable BOXOFFICE_JOBS_WORKERS (did you mean BOXOFFICE_JOBS__WORKERS?)",
            "unknown environment variable BOXOFFICE_LISTN (did you mean BOXOFFICE_LISTEN?)",
        ]
    );
    assert_eq!(
        loaded.config.jobs.workers, 2,
        "a misspelt variable sets nothing"
    );
}

#[test]
fn unknown_variable_without_a_close_match_warns_plainly() {
    let loaded = Scratch::new().load(None, &[("BOXOFFICE_BANANA", "1")]);
    assert_eq!(
        loaded.warnings,
        ["unknown environment variable BOXOFFICE_BANANA"]
    );
}

#[test]
fn reserved_and_foreign_variables_do_not_warn() {
    let loaded = Scratch::new().load(
        None,
        &[
            ("BOXOFFICE_CONFIG", "/nowhere.toml"),
            ("PATH", "/bin"),
            ("RUST_LOG", "debug"),
            ("BOXOFFICE_LOG", "warn"),
        ],
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(
        loaded.file_used, None,
        "BOXOFFICE_CONFIG is for the binary to read, not load()"
    );
    assert_eq!(loaded.config.log.level, "warn");
}

#[test]
fn boxoffice_log_is_an_alias_of_log_level() {
    let loaded = Scratch::new().load(
        Some("[log]\nlevel = \"debug\"\n"),
        &[("BOXOFFICE_LOG", "info,boxoffice=trace")],
    );
    assert_eq!(loaded.config.log.level, "info,boxoffice=trace");

    let error = Scratch::new().fail(
        None,
        &[("BOXOFFICE_LOG", "warn"), ("BOXOFFICE_LOG__LEVEL", "info")],
    );
    assert_eq!(
        error.to_string(),
        "both BOXOFFICE_LOG and BOXOFFICE_LOG__LEVEL are set; set only one of them"
    );
}

#[test]
fn bad_value_names_the_variable_and_the_expected_type() {
    let error = Scratch::new().fail(None, &[("BOXOFFICE_JOBS__WORKERS", "lots")]);
    assert_eq!(
        error.to_string(),
        "BOXOFFICE_JOBS__WORKERS=\"lots\": expected a whole number"
    );
    assert!(matches!(error, ConfigError::EnvValue { .. }));

    let error = Scratch::new().fail(None, &[("BOXOFFICE_JOBS__SCHEDULER", "maybe")]);
    assert_eq!(
        error.to_string(),
        "BOXOFFICE_JOBS__SCHEDULER=\"maybe\": expected true/false, 1/0 or on/off"
    );

    let error = Scratch::new().fail(None, &[("BOXOFFICE_LISTEN", "8080")]);
    assert_eq!(
        error.to_string(),
        "BOXOFFICE_LISTEN=\"8080\": expected an IP address and port such as 127.0.0.1:8080 or [::]:8080"
    );

    let error = Scratch::new().fail(None, &[("BOXOFFICE_LOG__FORMAT", "xml")]);
    assert_eq!(
        error.to_string(),
        "BOXOFFICE_LOG__FORMAT=\"xml\": expected text or json"
    );

    let error = Scratch::new().fail(None, &[("BOXOFFICE_WEB__MAX_BODY_BYTES", "-5")]);
    assert_eq!(
        error.to_string(),
        "BOXOFFICE_WEB__MAX_BODY_BYTES=\"-5\": expected a whole number"
    );
}

#[test]
fn every_bool_spelling_is_accepted() {
    for (text, expected) in [
        ("true", true),
        ("FALSE", false),
        ("1", true),
        ("0", false),
        ("On", true),
        ("off", false),
    ] {
        let loaded = Scratch::new().load(None, &[("BOXOFFICE_WEB__TRUST_FORWARDED_FOR", text)]);
        assert_eq!(loaded.config.web.trust_forwarded_for, expected, "{text}");
    }
}

#[test]
fn values_are_parsed_by_the_type_of_their_key() {
    let loaded = Scratch::new().load(
        None,
        &[
            ("BOXOFFICE_DATA_DIR", "relative/dir"),
            ("BOXOFFICE_LOG__FORMAT", "JSON"),
            ("BOXOFFICE_JOBS__LEASE_SECS", " 90 "),
            ("BOXOFFICE_PUBLIC_URL", "http://localhost:8080"),
        ],
    );
    let c = &loaded.config;
    assert_eq!(c.data_dir, PathBuf::from("relative/dir"));
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.jobs.lease_secs, 90);
    assert!(
        !c.secure_cookies(),
        "plain http public_url leaves cookies non-Secure"
    );
}

#[test]
fn empty_value_counts_as_unset() {
    let loaded = Scratch::new().load(
        Some("[jobs]\nworkers = 5\n"),
        &[("BOXOFFICE_JOBS__WORKERS", "")],
    );
    assert_eq!(loaded.config.jobs.workers, 5);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn known_env_vars_cover_every_key_and_form() {
    let known = boxoffice_config::known_env_vars();
    for name in [
        "BOXOFFICE_LISTEN",
        "BOXOFFICE_DATA_DIR",
        "BOXOFFICE_DATABASE_URL",
        "BOXOFFICE_DATABASE_URL_FILE",
        "BOXOFFICE_SECRET_KEY",
        "BOXOFFICE_SECRET_KEY_FILE",
        "BOXOFFICE_PUBLIC_URL",
        "BOXOFFICE_PLEX_TV_URL",
        "BOXOFFICE_DEMO",
        "BOXOFFICE_LOG__LEVEL",
        "BOXOFFICE_LOG",
        "BOXOFFICE_LOG__FORMAT",
        "BOXOFFICE_DATABASE__MAX_CONNECTIONS",
        "BOXOFFICE_DATABASE__CONNECT_TIMEOUT_SECS",
        "BOXOFFICE_JOBS__WORKERS",
        "BOXOFFICE_JOBS__LEASE_SECS",
        "BOXOFFICE_JOBS__POLL_INTERVAL_MS",
        "BOXOFFICE_JOBS__SCHEDULER",
        "BOXOFFICE_JOBS__RUN",
        "BOXOFFICE_WEB__SECURE_COOKIES",
        "BOXOFFICE_WEB__TRUST_FORWARDED_FOR",
        "BOXOFFICE_WEB__TRUSTED_PROXIES",
        "BOXOFFICE_WEB__REQUEST_TIMEOUT_SECS",
        "BOXOFFICE_WEB__MAX_BODY_BYTES",
        "BOXOFFICE_PASSWORDS__CONCURRENCY",
        "BOXOFFICE_PASSWORDS__QUEUE",
        "BOXOFFICE_METRICS__TOKEN",
        "BOXOFFICE_METRICS__TOKEN_FILE",
        "BOXOFFICE_METRICS__LISTEN",
        "BOXOFFICE_CONFIG",
    ] {
        assert!(
            known.iter().any(|k| k == name),
            "{name} missing from {known:?}"
        );
    }
    assert_eq!(known.len(), 30);
}
