use crate::common::Scratch;
use boxoffice_config::{ConfigError, Origin, Problem};

fn problems(error: ConfigError) -> Vec<Problem> {
    match error {
        ConfigError::Invalid(problems) => problems,
        other => panic!("expected validation problems, got {other}"),
    }
}

#[test]
fn workers_must_be_from_1_to_64() {
    let scratch = Scratch::new();
    let error = scratch.fail(None, &[("BOXOFFICE_JOBS__WORKERS", "0")]);
    assert_eq!(
        error.to_string(),
        "invalid configuration: jobs.workers: must be from 1 to 64, got 0 (from BOXOFFICE_JOBS__WORKERS)"
    );

    let error = scratch.fail(Some("[jobs]\nworkers = 65\n"), &[]);
    let problems = problems(error);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "jobs.workers");
    assert_eq!(
        problems[0].origin,
        Origin::File {
            path: scratch.config_path(),
            line: 2
        }
    );

    assert_eq!(
        scratch
            .load(Some("[jobs]\nworkers = 64\n"), &[])
            .config
            .jobs
            .workers,
        64
    );
    assert_eq!(
        scratch
            .load(Some("[jobs]\nworkers = 1\n"), &[])
            .config
            .jobs
            .workers,
        1
    );
}

#[test]
fn public_url_needs_an_http_scheme() {
    let error = Scratch::new().fail(None, &[("BOXOFFICE_PUBLIC_URL", "tv.example.com")]);
    assert_eq!(
        error.to_string(),
        "invalid configuration: public_url: must start with http:// or https://, got \"tv.example.com\" (from BOXOFFICE_PUBLIC_URL)"
    );
    let error = Scratch::new().fail(None, &[("BOXOFFICE_PUBLIC_URL", "https://")]);
    assert_eq!(problems(error)[0].key, "public_url");
}

#[test]
fn public_url_loses_its_trailing_slash_and_decides_secure_cookies() {
    let loaded = Scratch::new().load(None, &[("BOXOFFICE_PUBLIC_URL", "https://tv.example.com/")]);
    assert_eq!(
        loaded.config.public_url.as_deref(),
        Some("https://tv.example.com")
    );
    assert!(loaded.config.secure_cookies());
}

#[test]
fn log_level_must_not_be_empty() {
    let error = Scratch::new().fail(Some("[log]\nlevel = \" \"\n"), &[]);
    let problems = problems(error);
    assert_eq!(problems[0].key, "log.level");
    assert!(problems[0].message.contains("must not be empty"));
}

#[test]
fn zero_durations_and_sizes_are_rejected() {
    let error = Scratch::new().fail(
        Some("[database]\nmax_connections = 0\n[jobs]\npoll_interval_ms = 0\n[web]\nmax_body_bytes = 0\n"),
        &[],
    );
    let keys: Vec<_> = problems(error).iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "database.max_connections",
            "jobs.poll_interval_ms",
            "web.max_body_bytes"
        ]
    );
}

#[test]
fn all_problems_are_reported_together() {
    let error = Scratch::new().fail(
        None,
        &[
            ("BOXOFFICE_JOBS__WORKERS", "100"),
            ("BOXOFFICE_PUBLIC_URL", "ftp://x"),
            ("BOXOFFICE_LOG__LEVEL", " "),
        ],
    );
    let keys: Vec<_> = problems(error).iter().map(|p| p.key).collect();
    assert_eq!(keys, ["public_url", "log.level", "jobs.workers"]);
}

#[test]
fn database_url_scheme_is_checked_without_echoing_the_url() {
    let error = Scratch::new().fail(None, &[("BOXOFFICE_DATABASE_URL", "mysql://root:pw@db/bo")]);
    let text = error.to_string();
    assert_eq!(
        text,
        "invalid configuration: database_url: must start with sqlite:, postgres:// or postgresql:// (from BOXOFFICE_DATABASE_URL)"
    );
}
