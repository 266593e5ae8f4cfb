//! A real SMTP server process for the e-mail tests: Python's aiosmtpd, started per test on a free
//! port. Skipped when Python or aiosmtpd is missing, unless BOXOFFICE_REQUIRE_PYTHON=1.

use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub struct SmtpSink {
    pub port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl SmtpSink {
    /// `None` when the server cannot run here and the environment does not require it.
    pub async fn start(login: Option<&str>) -> Option<SmtpSink> {
        Self::start_on(free_port(), login).await
    }

    pub async fn start_on(port: u16, login: Option<&str>) -> Option<SmtpSink> {
        let required = std::env::var("BOXOFFICE_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/smtp_sink.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(l) = login {
            cmd.arg(l);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if !required => {
                eprintln!(
                    "skipped: python3 cannot run ({e}); set BOXOFFICE_REQUIRE_PYTHON=1 to fail"
                );
                return None;
            }
            Err(e) => panic!("python3 is required: {e}"),
        };
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        if first.as_deref() != Some("READY") {
            assert!(
                !required,
                "the SMTP test server did not start (is aiosmtpd installed?)"
            );
            eprintln!("skipped: aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }
        Some(SmtpSink {
            port,
            lines,
            _child: child,
        })
    }

    /// The next message the server accepted; the sender has already had its 250 when a job
    /// returns, so this only waits for the pipe.
    pub async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a message within 10 s")
            .expect("read")
            .expect("the SMTP server is still running");
        serde_json::from_str(&line).expect("json line")
    }
}
