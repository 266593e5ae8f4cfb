use crate::common::Scratch;
use boxoffice_config::{ConfigError, Sources, load};

#[test]
fn wrong_type_names_file_line_and_key() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("# boxoffice\n[jobs]\nworkers = \"many\"\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 3: jobs.workers: invalid type: string \"many\", expected u32",
            scratch.shown()
        )
    );
    match error {
        ConfigError::File { line, key, .. } => {
            assert_eq!(line, Some(3));
            assert_eq!(key.as_deref(), Some("jobs.workers"));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn wrong_type_in_dotted_and_inline_forms() {
    let scratch = Scratch::new();
    let error = scratch.fail(
        Some("listen = \"127.0.0.1:1\"\nweb.trust_forwarded_for = \"yes\"\n"),
        &[],
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 2: web.trust_forwarded_for: invalid type: string \"yes\", expected a boolean",
            scratch.shown()
        )
    );
    let error = scratch.fail(Some("\n\njobs = { workers = -1 }\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 3: jobs.workers: invalid value: integer `-1`, expected u32",
            scratch.shown()
        )
    );
}

#[test]
fn syntax_error_names_file_line_and_key() {
    let scratch = Scratch::new();
    let error = scratch.fail(
        Some("[web]\ntrust_forwarded_for = true\nrequest_timeout_secs = 30 30\n"),
        &[],
    );
    let text = error.to_string();
    let prefix = format!("{} line 3: web.request_timeout_secs: ", scratch.shown());
    assert!(text.starts_with(&prefix), "{text}");
    assert!(matches!(error, ConfigError::File { line: Some(3), .. }));
}

#[test]
fn duplicate_key_is_a_syntax_error_on_its_line() {
    let scratch = Scratch::new();
    let error = scratch.fail(
        Some("listen = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n"),
        &[],
    );
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("{} line 2: listen: ", scratch.shown())),
        "{text}"
    );
}

#[test]
fn unknown_key_is_an_error_with_a_suggestion() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("[jobs]\nworkers = 3\nworker = 4\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 3: jobs.worker: unknown key (did you mean jobs.workers?)",
            scratch.shown()
        )
    );
}

#[test]
fn unknown_section_is_an_error_with_a_suggestion() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("[job]\nworkers = 3\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 1: job: unknown key (did you mean jobs?)",
            scratch.shown()
        )
    );

    let error = scratch.fail(Some("colour = \"blue\"\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!("{} line 1: colour: unknown key", scratch.shown())
    );
}

#[test]
fn section_given_as_a_value_is_an_error() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("jobs = 3\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 1: jobs: invalid type: integer, expected a table",
            scratch.shown()
        )
    );
}

#[test]
fn bad_listen_in_file_names_the_key() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("listen = \"localhost:80\"\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 1: listen: invalid value: string \"localhost:80\", expected an IP address and port such as 127.0.0.1:8080 or [::]:8080",
            scratch.shown()
        )
    );
}

#[test]
fn bad_log_format_lists_the_choices() {
    let scratch = Scratch::new();
    let error = scratch.fail(Some("[log]\nformat = \"xml\"\n"), &[]);
    assert_eq!(
        error.to_string(),
        format!(
            "{} line 2: log.format: unknown variant `xml`, expected `text` or `json`",
            scratch.shown()
        )
    );
}

#[test]
fn missing_file_is_an_error_only_when_required() {
    let scratch = Scratch::new();
    let loaded = load(scratch.sources(None, &[])).unwrap();
    assert_eq!(loaded.file_used, None);

    let sources = Sources {
        file_required: true,
        ..scratch.sources(None, &[])
    };
    let error = load(sources).err().unwrap();
    assert_eq!(
        error.to_string(),
        format!("config file {} not found", scratch.shown())
    );
}

#[test]
fn a_directory_is_an_unreadable_file() {
    let scratch = Scratch::new();
    let sources = Sources {
        file: Some(scratch.dir.path().to_owned()),
        ..Sources::default()
    };
    let error = load(sources).err().unwrap();
    assert!(
        matches!(error, ConfigError::FileUnreadable { .. }),
        "{error}"
    );
}

#[test]
fn empty_file_means_defaults() {
    let loaded = Scratch::new().load(Some(""), &[]);
    assert!(loaded.file_used.is_some());
    assert_eq!(loaded.config.jobs.workers, 2);
}
