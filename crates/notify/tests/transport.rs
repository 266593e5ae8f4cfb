//! The three connection modes against a real SMTP server (aiosmtpd): plain with a login, STARTTLS
//! required, and TLS from the first byte, with a certificate from a throw-away CA. Skipped when
//! python3, aiosmtpd or openssl are missing, unless BOXOFFICE_REQUIRE_PYTHON=1.

use boxoffice_notify::email::{self, Outgoing, Security, SmtpSettings};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn required() -> bool {
    std::env::var("BOXOFFICE_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("boxoffice-smtp-{tag}-{nanos}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A CA and a server certificate for 127.0.0.1 signed by it (a self-signed CA used as the
/// server's own certificate is refused by webpki).
fn certificates(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    let ok = run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=boxoffice test CA",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    ok.then(|| {
        (
            dir.join("ca.pem"),
            dir.join("leaf.pem"),
            dir.join("leaf.key"),
        )
    })
}

struct Sink {
    port: u16,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    _child: tokio::process::Child,
}

impl Sink {
    async fn start(extra: &[String]) -> Option<Sink> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let mut lines = BufReader::new(child.stdout.take()?).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .ok()?
            .ok()??;
        (first == "READY").then_some(Sink {
            port,
            lines,
            _child: child,
        })
    }

    async fn next_message(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a message within 10 s")
            .expect("read")
            .expect("line");
        serde_json::from_str(&line).expect("json")
    }
}

fn settings(port: u16, security: Security, ca: Option<&Path>) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security,
        username: Some("mailer".into()),
        password: Some("s3cret".into()),
        from_address: "noreply@example.com".into(),
        from_name: "Example TV".into(),
        reply_to: Some("help@example.com".into()),
        extra_root_pem: ca.map(|p| std::fs::read(p).expect("ca")),
        timeout: Duration::from_secs(10),
    }
}

fn message() -> Outgoing {
    Outgoing {
        to: "ann@example.com".into(),
        to_name: Some("Ann".into()),
        subject: "Hello".into(),
        text: "plain".into(),
        html: Some("<p>rich</p>".into()),
    }
}

async fn tls_case(flag: &str, security: Security) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = temp_dir(flag.trim_start_matches('-'));
    let Some((ca, cert, key)) = certificates(&dir) else {
        assert!(!required(), "openssl is required");
        eprintln!("skipped: openssl is not available");
        return;
    };
    let args = vec![
        "mailer:s3cret".to_string(),
        flag.to_string(),
        cert.display().to_string(),
        key.display().to_string(),
    ];
    let Some(mut sink) = Sink::start(&args).await else {
        assert!(!required(), "the SMTP test server did not start");
        eprintln!("skipped: python3/aiosmtpd not available");
        return;
    };
    // Without the CA the certificate is not trusted: a refusal, never a silent plain fallback.
    let port = sink.port;
    let err = email::send(&settings(port, security, None), &message())
        .await
        .expect_err("untrusted certificate");
    assert!(!err.to_string().is_empty());
    email::send(&settings(port, security, Some(&ca)), &message())
        .await
        .expect("sent over TLS");
    let got = sink.next_message().await;
    assert_eq!(got["tls"], true);
    assert_eq!(got["auth"], true);
    assert_eq!(got["headers"]["to"], "Ann <ann@example.com>");
    assert_eq!(got["headers"]["reply-to"], "help@example.com");
    assert_eq!(got["text"].as_str().map(str::trim), Some("plain"));
}

#[tokio::test]
async fn starttls_is_required_and_the_login_goes_over_it() {
    tls_case("--starttls", Security::StartTls).await;
}

#[tokio::test]
async fn implicit_tls_speaks_tls_from_the_first_byte() {
    tls_case("--tls", Security::Tls).await;
}

#[tokio::test]
async fn plain_smtp_with_a_wrong_password_is_refused_for_good() {
    let Some(mut sink) = Sink::start(&["mailer:s3cret".to_string()]).await else {
        assert!(!required(), "the SMTP test server did not start");
        return;
    };
    let mut s = settings(sink.port, Security::None, None);
    s.password = Some("wrong".into());
    let err = email::send(&s, &message()).await.expect_err("refused");
    assert!(!err.retryable(), "{err}");
    s.password = Some("s3cret".into());
    email::send(&s, &message()).await.expect("sent");
    let got = sink.next_message().await;
    assert_eq!(got["tls"], false);
    assert_eq!(got["content_type"], "multipart/alternative");
}

#[tokio::test]
async fn an_unreachable_server_is_worth_retrying() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let err = email::send(&settings(port, Security::None, None), &message())
        .await
        .expect_err("nobody listens");
    assert!(err.retryable(), "{err}");
}
