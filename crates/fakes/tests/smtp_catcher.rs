//! The SMTP catcher over a real TCP connection: a client speaking the protocol line by line, then
//! the control API reading back what it kept.

use std::time::Duration;

use boxoffice_fakes::SmtpCatcher;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(c: &SmtpCatcher) -> (Client, String) {
        let s = TcpStream::connect((c.host().as_str(), c.port()))
            .await
            .expect("connect");
        let (r, w) = s.into_split();
        let mut client = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// One reply, multi-line replies joined with newlines.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 5 s")
                .expect("read");
            all.push_str(line.trim_end());
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
            all.push('\n');
        }
    }

    async fn send(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
        self.reply().await
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_message_is_kept_with_its_envelope_and_decoded_parts_and_can_be_cleared() {
    let catcher = SmtpCatcher::start().await.expect("catcher");
    let (mut c, greeting) = Client::connect(&catcher).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(c.send("MAIL FROM:<a@example.com>").await.starts_with("503"));
    let ehlo = c.send("EHLO tester").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    // AUTH PLAIN with an initial response: \0mailer\0secret
    assert!(
        c.send("AUTH PLAIN AG1haWxlcgBzZWNyZXQ=")
            .await
            .starts_with("235")
    );
    assert!(c.send("RCPT TO:<x@example.com>").await.starts_with("503"));
    assert!(
        c.send("MAIL FROM:<noreply@example.com> SIZE=300")
            .await
            .starts_with("250")
    );
    assert!(c.send("RCPT TO:<ann@example.com>").await.starts_with("250"));
    assert!(c.send("RCPT TO:<Bob@Example.com>").await.starts_with("250"));
    assert!(c.send("DATA").await.starts_with("354"));
    let body = [
        "From: Example TV <noreply@example.com>",
        "To: ann@example.com",
        "Subject: =?utf-8?b?WW91J3JlIGludml0ZWQg4pyT?=",
        "Date: Mon, 1 Dec 2025 10:00:00 +0000",
        "Message-ID: <1@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative; boundary=\"XX\"",
        "",
        "--XX",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Line one caf=C3=A9 with a soft=",
        " break",
        "..a line that started with a dot",
        "--XX",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        "PHA+SGk8L3A+",
        "--XX--",
        ".",
    ]
    .join("\r\n");
    c.writer
        .write_all(format!("{body}\r\n").as_bytes())
        .await
        .expect("data");
    let queued = c.reply().await;
    assert!(queued.starts_with("250 "), "{queued}");
    assert!(c.send("NOOP").await.starts_with("250"));
    assert!(c.send("RSET").await.starts_with("250"));
    assert!(c.send("QUIT").await.starts_with("221"));

    let url = format!("{}/messages", catcher.control_url());
    let list: Vec<Value> = http()
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(m["mail_from"], "noreply@example.com");
    assert_eq!(
        m["rcpt_to"],
        serde_json::json!(["ann@example.com", "Bob@Example.com"])
    );
    assert_eq!(m["auth_user"], "mailer");
    assert_eq!(m["subject"], "You're invited ✓");
    assert_eq!(m["from"], "Example TV <noreply@example.com>");
    assert_eq!(m["date"], "Mon, 1 Dec 2025 10:00:00 +0000");
    assert_eq!(
        m["text"],
        "Line one café with a soft break\r\n.a line that started with a dot"
    );
    assert_eq!(m["html"], "<p>Hi</p>");
    assert!(
        m["raw"]
            .as_str()
            .unwrap()
            .contains("\r\n.a line that started with a dot\r\n")
    );

    let filtered: Vec<Value> = http()
        .get(format!("{url}?to=bob@example.com"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(filtered.len(), 1);
    let none: Vec<Value> = http()
        .get(format!("{url}?to=carol@example.com"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert!(none.is_empty());

    let del = http().delete(&url).send().await.expect("delete");
    assert_eq!(del.status(), 204);
    assert!(catcher.messages().is_empty());
}

#[tokio::test]
async fn auth_login_and_helo_work_and_unknown_commands_are_refused() {
    let catcher = SmtpCatcher::start().await.expect("catcher");
    let (mut c, _) = Client::connect(&catcher).await;
    assert!(c.send("HELO old-client").await.starts_with("250"));
    assert_eq!(c.send("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
    assert_eq!(c.send("bWFpbGVy").await, "334 UGFzc3dvcmQ6");
    assert!(c.send("c2VjcmV0").await.starts_with("235"));
    assert!(c.send("STARTTLS").await.starts_with("502"));
    assert!(c.send("FROB").await.starts_with("500"));
    assert!(c.send("MAIL FROM:<>").await.starts_with("250"));
    assert!(c.send("RCPT TO:<x@example.com>").await.starts_with("250"));
    assert!(c.send("DATA").await.starts_with("354"));
    assert!(
        c.send("Subject: plain\r\n\r\nbody\r\n.")
            .await
            .starts_with("250")
    );
    let m = &catcher.messages()[0];
    assert_eq!(m.auth_user.as_deref(), Some("mailer"));
    assert_eq!(m.mail_from, "");
    assert_eq!(m.text.as_deref(), Some("body\r\n"));
    assert_eq!(catcher.messages_to("X@example.com").len(), 1);
}
