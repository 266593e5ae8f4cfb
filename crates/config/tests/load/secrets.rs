use crate::common::Scratch;
use boxoffice_config::ConfigError;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn env_file_form_reads_the_file_without_its_trailing_newline() {
    let scratch = Scratch::new();
    let db = scratch.write("db", "postgres://u:p@db/bo\n");
    let key = scratch.write("key", &format!("{KEY}\r\n"));
    let loaded = scratch.load(
        None,
        &[
            ("BOXOFFICE_DATABASE_URL_FILE", db.to_str().unwrap()),
            ("BOXOFFICE_SECRET_KEY_FILE", key.to_str().unwrap()),
        ],
    );
    let c = &loaded.config;
    assert_eq!(
        c.database_url.as_ref().unwrap().expose(),
        "postgres://u:p@db/bo"
    );
    assert_eq!(c.secret_key.as_ref().unwrap().expose(), KEY);
    let bytes = c.secret_key_bytes().unwrap().unwrap();
    assert_eq!(bytes[31], 31);
}

#[test]
fn toml_file_form_reads_the_file() {
    let scratch = Scratch::new();
    let db = scratch.write("db", "sqlite:///srv/bo.db\n");
    let loaded = scratch.load(
        Some(&format!("database_url_file = {:?}\n", db.to_str().unwrap())),
        &[],
    );
    assert_eq!(
        loaded.config.effective_database_url(),
        "sqlite:///srv/bo.db"
    );
}

#[test]
fn env_file_form_overrides_a_value_in_the_file() {
    let scratch = Scratch::new();
    let db = scratch.write("db", "postgres://from-file-secret/bo");
    let loaded = scratch.load(
        Some("database_url = \"postgres://from-toml/bo\"\n"),
        &[("BOXOFFICE_DATABASE_URL_FILE", db.to_str().unwrap())],
    );
    assert_eq!(
        loaded.config.effective_database_url(),
        "postgres://from-file-secret/bo"
    );
}

#[test]
fn missing_secret_file_names_the_variable_and_the_path() {
    let scratch = Scratch::new();
    let path = scratch.dir.path().join("absent");
    let error = scratch.fail(
        None,
        &[("BOXOFFICE_SECRET_KEY_FILE", path.to_str().unwrap())],
    );
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "BOXOFFICE_SECRET_KEY_FILE: cannot read {}: ",
            path.display()
        )),
        "{text}"
    );
    assert!(matches!(error, ConfigError::SecretFile { .. }));

    let toml = format!("secret_key_file = {:?}\n", path.to_str().unwrap());
    let text = scratch.fail(Some(&toml), &[]).to_string();
    let expected = format!(
        "secret_key_file ({} line 1): cannot read {}: ",
        scratch.shown(),
        path.display()
    );
    assert!(text.starts_with(&expected), "{text}");
}

#[test]
fn empty_secret_file_is_an_error() {
    let scratch = Scratch::new();
    let path = scratch.write("empty", "\n");
    let error = scratch.fail(
        None,
        &[("BOXOFFICE_DATABASE_URL_FILE", path.to_str().unwrap())],
    );
    assert_eq!(
        error.to_string(),
        format!("BOXOFFICE_DATABASE_URL_FILE: {} is empty", path.display())
    );
}

#[test]
fn value_and_file_form_together_are_an_error() {
    let scratch = Scratch::new();
    let path = scratch.write("db", "postgres://x/bo");
    let error = scratch.fail(
        None,
        &[
            ("BOXOFFICE_DATABASE_URL", "postgres://y/bo"),
            ("BOXOFFICE_DATABASE_URL_FILE", path.to_str().unwrap()),
        ],
    );
    assert_eq!(
        error.to_string(),
        "both BOXOFFICE_DATABASE_URL and BOXOFFICE_DATABASE_URL_FILE are set; set only one of them"
    );

    let toml = format!(
        "database_url = \"postgres://y/bo\"\ndatabase_url_file = {:?}\n",
        path.to_str().unwrap()
    );
    let error = scratch.fail(Some(&toml), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 1: both database_url and database_url_file are set; set only one of them",
            scratch.shown()
        )
    );
}

#[test]
fn file_form_of_a_non_secret_is_unknown() {
    let loaded = Scratch::new().load(None, &[("BOXOFFICE_LISTEN_FILE", "/x")]);
    assert_eq!(
        loaded.warnings,
        [
            "unknown environment variable BOXOFFICE_LISTEN_FILE (only secrets have a _FILE form; set BOXOFFICE_LISTEN)"
        ]
    );
}

#[test]
fn malformed_secret_key_is_rejected_without_echoing_it() {
    let error = Scratch::new().fail(None, &[("BOXOFFICE_SECRET_KEY", "hunter2")]);
    let text = error.to_string();
    assert_eq!(
        text,
        "invalid configuration: secret_key: must be the base64 encoding of exactly 32 bytes (from BOXOFFICE_SECRET_KEY)"
    );
    assert!(!format!("{error:?}").contains("hunter2"));
}

#[test]
fn secret_formats_as_redacted() {
    let secret = boxoffice_config::Secret::new("hunter2");
    assert_eq!(format!("{secret}"), "<redacted>");
    assert_eq!(format!("{secret:?}"), "<redacted>");
    assert_eq!(secret.clone().expose(), "hunter2");
}
