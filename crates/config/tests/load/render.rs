use crate::common::Scratch;

const DB: &str = "postgres://admin:pa55word@db/bo";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn loaded_with_secrets() -> boxoffice_config::Config {
    Scratch::new()
        .load(
            Some("public_url = \"https://tv.example.com\"\n[jobs]\nworkers = 3\n"),
            &[
                ("BOXOFFICE_DATABASE_URL", DB),
                ("BOXOFFICE_SECRET_KEY", KEY),
            ],
        )
        .config
}

#[test]
fn render_redacted_hides_secrets_and_shows_everything_else() {
    let config = loaded_with_secrets();
    let text = config.render_redacted();
    assert!(!text.contains("pa55word") && !text.contains(KEY), "{text}");
    assert!(text.contains("database_url = \"<redacted>\"\n"), "{text}");
    assert!(text.contains("secret_key = \"<redacted>\"\n"), "{text}");
    assert!(
        text.contains("public_url = \"https://tv.example.com\"\n"),
        "{text}"
    );
    assert!(text.contains("\n[jobs]\nworkers = 3\n"), "{text}");
    assert!(text.contains("# max_connections is not set\n"), "{text}");
    assert!(text.contains("max_body_bytes = 10485760\n"), "{text}");
}

#[test]
fn render_redacted_is_valid_toml_that_loads_back() {
    let scratch = Scratch::new();
    let text = scratch
        .load(
            Some("[jobs]\nworkers = 9\n[web]\nsecure_cookies = true\n"),
            &[],
        )
        .config
        .render_redacted();
    let again = scratch.load(Some(&text), &[]).config;
    assert_eq!(again.jobs.workers, 9);
    assert_eq!(again.web.secure_cookies, Some(true));
    assert_eq!(again.render_redacted(), text);
}

#[test]
fn debug_of_config_hides_secrets() {
    let config = loaded_with_secrets();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("pa55word") && !debug.contains(KEY),
        "{debug}"
    );
    assert!(debug.contains("database_url: Some(<redacted>)"), "{debug}");
    let pretty = format!("{config:#?}");
    assert!(!pretty.contains("pa55word"));
}
