//! The real binary, as an owner runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    // The tests' own environment must not leak BOXOFFICE_* settings into the child.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BOXOFFICE_")) {
        c.env_remove(k);
    }
    c.env("BOXOFFICE_LOG", "warn");
    c
}

pub fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn admin_create_reads_the_password_from_stdin_and_refuses_a_weak_one() {
    let dir = crate::helpers::temp_dir();
    let out = run_with_stdin(
        bin()
            .args(["admin", "create", "--email", "boss@example.com"])
            .env("BOXOFFICE_DATA_DIR", &dir),
        "weakpass\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("The password needs an upper-case letter, a digit and a special character"),
        "{err}"
    );
    let out = run_with_stdin(
        bin()
            .args(["admin", "create", "--email", "boss@example.com"])
            .env("BOXOFFICE_DATA_DIR", &dir),
        "Str0ng-enough!\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("administrator boss@example.com created")
    );
    let out = run_with_stdin(
        bin()
            .args(["admin", "create", "--email", "BOSS@example.com"])
            .env("BOXOFFICE_DATA_DIR", &dir),
        "Str0ng-enough!\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert!(
        dir.join("secret.key").exists(),
        "key generated into the data directory"
    );
}

#[test]
fn admin_token_create_prints_the_token_once_and_revoke_ends_it() {
    let dir = crate::helpers::temp_dir();
    let pw = dir.join("pw");
    std::fs::write(&pw, "Str0ng-enough!\n").unwrap();
    let ok = bin()
        .args([
            "admin",
            "create",
            "--email",
            "boss@example.com",
            "--password-file",
        ])
        .arg(&pw)
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let out = bin()
        .args([
            "admin",
            "token",
            "create",
            "--email",
            "boss@example.com",
            "--name",
            "backup",
        ])
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("bo_") && token.len() > 40, "{token}");
    let list = bin()
        .args(["admin", "token", "list"])
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(list.contains("backup") && !list.contains(&token), "{list}");
    let out = bin()
        .args(["admin", "token", "revoke", "1"])
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = bin()
        .args(["admin", "token", "revoke", "1"])
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("active API token not found"));
}

#[test]
fn an_unreachable_database_at_start_is_a_clear_error_and_exit_code_3() {
    let out = bin()
        .args(["migrate"])
        .env(
            "BOXOFFICE_DATABASE_URL",
            "postgres://bo:hunter2@127.0.0.1:1/boxoffice",
        )
        .env("BOXOFFICE_DATABASE__CONNECT_TIMEOUT_SECS", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the database at postgres://bo:<redacted>@127.0.0.1:1/boxoffice"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password is not printed");
}

#[test]
fn a_malformed_config_file_names_the_file_the_line_and_the_key() {
    let dir = crate::helpers::temp_dir();
    let file = dir.join("boxoffice.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\n\n[jobs]\nworkers = \"many\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("boxoffice.toml") && err.contains("line 4") && err.contains("jobs.workers"),
        "{err}"
    );
}

#[test]
fn config_check_shows_the_effective_configuration_with_secrets_redacted() {
    let out = bin()
        .args(["config", "check"])
        .env(
            "BOXOFFICE_DATABASE_URL",
            "postgres://bo:hunter2@db/boxoffice",
        )
        .env("BOXOFFICE_LISTN", "0.0.0.0:80")
        .env("BOXOFFICE_JOBS__WORKERS", "3")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("workers = 3"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("BOXOFFICE_LISTN (did you mean BOXOFFICE_LISTEN?)")
    );
}

/// Starts `boxoffice serve` on a free port and returns it with the lines it printed first.
/// `expect_setup`: no administrator exists, so two setup lines follow the first.
pub fn serve(
    data_dir: &std::path::Path,
    expect_setup: bool,
) -> (std::process::Child, String, Vec<String>) {
    let mut child = bin()
        .args(["serve"])
        .env("BOXOFFICE_DATA_DIR", data_dir)
        .env("BOXOFFICE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("first line");
    let url = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut rest = Vec::new();
    for _ in 0..if expect_setup { 2 } else { 0 } {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        rest.push(line.trim().to_string());
    }
    std::thread::spawn(move || {
        // Keep draining so the child never blocks on a full pipe.
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    (child, url, rest)
}

#[tokio::test]
async fn serve_prints_where_it_listens_and_a_setup_url_when_no_administrator_exists() {
    let dir = crate::helpers::temp_dir();
    let (mut child, url, rest) = serve(&dir, true);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        rest[0].starts_with(&format!(
            "No administrator exists yet. Create one within the hour at {url}/setup/"
        )),
        "{rest:?}"
    );
    let c = crate::helpers::client();
    let r = c.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let setup = rest[0].rsplit(' ').next().unwrap();
    assert_eq!(c.get(setup).send().await.unwrap().status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
