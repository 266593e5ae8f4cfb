//! An SMTP catcher: a real SMTP listener on loopback that accepts every message and keeps it, so
//! what boxoffice e-mails can be read back through the control API (`GET /__control/messages`)
//! instead of reaching anyone.
//!
//! It speaks the plain protocol a submission client uses (RFC 5321): EHLO/HELO, MAIL, RCPT, DATA
//! with dot-unstuffing, RSET, NOOP, VRFY, HELP and QUIT, and accepts AUTH PLAIN and AUTH LOGIN
//! with any credentials (the username is kept). It offers no STARTTLS, so a client must be set to
//! plain SMTP (boxoffice: `email.smtp_security = none`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::faults::lock;
use crate::server::{Running, serve};

/// The largest message accepted (advertised as SIZE); larger ones are refused with 552.
pub const MAX_MESSAGE_BYTES: usize = 20 << 20;
/// The longest command line accepted (RFC 5321 §4.5.3.1.4 allows 512; clients stay well below).
const MAX_LINE: usize = 4096;

/// One message the catcher accepted, as the control API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaughtMessage {
    pub id: u64,
    /// When it was accepted (ISO 8601, UTC).
    pub received_at: String,
    /// The envelope: `MAIL FROM` and every `RCPT TO`.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The username of an `AUTH`, when the client logged in.
    pub auth_user: Option<String>,
    /// Headers, decoded (RFC 2047) and unfolded.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub message_id: String,
    /// The first text/plain and text/html parts, decoded from quoted-printable or base64.
    pub text: Option<String>,
    pub html: Option<String>,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The message exactly as received after dot-unstuffing.
    pub raw: String,
}

#[derive(Debug, Default)]
struct Store {
    messages: Vec<CaughtMessage>,
    next_id: u64,
    sessions: u64,
}

type Shared = Arc<Mutex<Store>>;

/// Handle to a running SMTP catcher; both listeners stop when it is dropped.
#[derive(Debug)]
pub struct SmtpCatcher {
    smtp: SocketAddr,
    control: Running,
    store: Shared,
    task: JoinHandle<()>,
}

impl Drop for SmtpCatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpCatcher {
    /// Starts the SMTP listener and its control API, each on a free loopback port.
    pub async fn start() -> crate::Result<Self> {
        let store: Shared = Arc::default();
        let listener = TcpListener::bind((crate::server::bind_ip(), 0)).await?;
        let smtp = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, store.clone()));
        let app = Router::new()
            .nest(crate::control::PREFIX, control_routes())
            .with_state(store.clone());
        let control = serve(app).await?;
        Ok(SmtpCatcher {
            smtp,
            control,
            store,
            task,
        })
    }

    /// The address clients connect to (an IP, so no name lookup is needed).
    pub fn host(&self) -> String {
        self.smtp.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.smtp.port()
    }

    pub fn control_url(&self) -> String {
        format!("{}{}", self.control.url(), crate::control::PREFIX)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<CaughtMessage> {
        lock(&self.store).messages.clone()
    }

    /// Messages whose envelope names `rcpt` (any case).
    pub fn messages_to(&self, rcpt: &str) -> Vec<CaughtMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(rcpt)))
            .collect()
    }

    pub fn clear(&self) {
        lock(&self.store).messages.clear();
    }

    /// The JSON the sandbox prints under `smtp`.
    pub fn describe(&self) -> Value {
        json!({"host": self.host(), "port": self.port(), "control": self.control_url()})
    }
}

async fn accept_loop(listener: TcpListener, store: Shared) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let store = store.clone();
                tokio::spawn(async move {
                    if let Err(e) = Session::new(store).run(stream).await {
                        tracing::debug!(error = %e, "SMTP catcher session ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SMTP catcher cannot accept");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// One client connection: the envelope being built and whether it logged in.
struct Session {
    store: Shared,
    greeted: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    auth_user: Option<String>,
}

/// The address inside `FROM:<a@b> SIZE=…` or `TO:<a@b>`; `None` when the syntax is wrong.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let rest = arg.trim();
    if rest.len() < keyword.len() || !rest[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_string())
}

fn b64_text(s: &str) -> Option<String> {
    STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

type Lines = BufReader<tokio::net::tcp::OwnedReadHalf>;

impl Session {
    fn new(store: Shared) -> Self {
        Session {
            store,
            greeted: false,
            mail_from: None,
            rcpt_to: Vec::new(),
            auth_user: None,
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn run(mut self, stream: TcpStream) -> std::io::Result<()> {
        lock(&self.store).sessions += 1;
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        write
            .write_all(b"220 catcher.boxoffice.test ESMTP boxoffice SMTP catcher\r\n")
            .await?;
        loop {
            let Some(line) = read_line(&mut reader, MAX_LINE).await? else {
                return Ok(());
            };
            let Ok(line) = String::from_utf8(line) else {
                write
                    .write_all(b"500 5.5.2 Syntax error: not UTF-8\r\n")
                    .await?;
                continue;
            };
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.to_string()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            let reply = match verb.as_str() {
                "EHLO" => {
                    self.greeted = true;
                    self.reset();
                    format!(
                        "250-catcher.boxoffice.test greets {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE {MAX_MESSAGE_BYTES}\r\n",
                        arg.trim()
                    )
                }
                "HELO" => {
                    self.greeted = true;
                    self.reset();
                    "250 catcher.boxoffice.test\r\n".into()
                }
                "MAIL" if !self.greeted => "503 5.5.1 Send EHLO or HELO first\r\n".into(),
                "MAIL" => match path_arg(&arg, "FROM:") {
                    Some(from) => {
                        self.reset();
                        self.mail_from = Some(from);
                        "250 2.1.0 Ok\r\n".into()
                    }
                    None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".into(),
                },
                "RCPT" if self.mail_from.is_none() => "503 5.5.1 Send MAIL first\r\n".into(),
                "RCPT" => match path_arg(&arg, "TO:") {
                    Some(to) if !to.is_empty() => {
                        self.rcpt_to.push(to);
                        "250 2.1.5 Ok\r\n".into()
                    }
                    _ => "501 5.5.4 Syntax: RCPT TO:<address>\r\n".into(),
                },
                "DATA" if self.rcpt_to.is_empty() => "503 5.5.1 Send RCPT first\r\n".into(),
                "DATA" => {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    match read_data(&mut reader).await? {
                        Data::Message(raw) => {
                            let id = self.keep(raw);
                            self.reset();
                            format!("250 2.0.0 Ok: queued as {id}\r\n")
                        }
                        Data::TooLarge => {
                            self.reset();
                            "552 5.3.4 Message too big\r\n".into()
                        }
                        Data::Closed => return Ok(()),
                    }
                }
                "AUTH" => self.auth(&arg, &mut reader, &mut write).await?,
                "RSET" => {
                    self.reset();
                    "250 2.0.0 Ok\r\n".into()
                }
                "NOOP" => "250 2.0.0 Ok\r\n".into(),
                "VRFY" => "252 2.0.0 Cannot verify, but will accept\r\n".into(),
                "HELP" => "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY AUTH QUIT\r\n".into(),
                "STARTTLS" => "502 5.5.1 TLS is not offered here; use plain SMTP\r\n".into(),
                "QUIT" => {
                    write.write_all(b"221 2.0.0 Bye\r\n").await?;
                    return Ok(());
                }
                _ => "500 5.5.2 Command not recognized\r\n".into(),
            };
            write.write_all(reply.as_bytes()).await?;
        }
    }

    /// AUTH PLAIN and AUTH LOGIN, with or without an initial response; any credentials pass.
    async fn auth(
        &mut self,
        arg: &str,
        reader: &mut Lines,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
    ) -> std::io::Result<String> {
        if self.auth_user.is_some() {
            return Ok("503 5.5.1 Already authenticated\r\n".into());
        }
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        let mut ask = async |prompt: &str| -> std::io::Result<Option<String>> {
            write
                .write_all(format!("334 {prompt}\r\n").as_bytes())
                .await?;
            Ok(read_line(reader, MAX_LINE)
                .await?
                .and_then(|l| String::from_utf8(l).ok()))
        };
        let user = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => Some(r),
                    None => ask("").await?,
                };
                // authzid \0 authcid \0 password
                response
                    .as_deref()
                    .and_then(b64_text)
                    .and_then(|t| t.split('\0').nth(1).map(str::to_string))
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => Some(u),
                    None => ask("VXNlcm5hbWU6").await?,
                };
                let password = ask("UGFzc3dvcmQ6").await?;
                user.as_deref()
                    .and_then(b64_text)
                    .filter(|_| password.is_some())
            }
            _ => {
                return Ok("504 5.5.4 Unrecognized authentication type\r\n".into());
            }
        };
        Ok(match user {
            Some(u) => {
                self.auth_user = Some(u);
                "235 2.7.0 Authentication successful\r\n".into()
            }
            None => "501 5.5.2 Cannot decode the authentication response\r\n".into(),
        })
    }

    fn keep(&self, raw: String) -> u64 {
        let parsed = crate::smtp_mime::parse(&raw);
        let h = |name: &str| parsed.header(name).unwrap_or("").to_string();
        let mut store = lock(&self.store);
        store.next_id += 1;
        let id = store.next_id;
        let message = CaughtMessage {
            id,
            received_at: crate::ids::iso_now(),
            mail_from: self.mail_from.clone().unwrap_or_default(),
            rcpt_to: self.rcpt_to.clone(),
            auth_user: self.auth_user.clone(),
            from: h("from"),
            to: h("to"),
            subject: h("subject"),
            date: h("date"),
            message_id: h("message-id"),
            text: parsed.text.clone(),
            html: parsed.html.clone(),
            headers: parsed.headers.clone(),
            raw,
        };
        store.messages.push(message);
        id
    }
}

/// One line without its CRLF (a bare LF is accepted too); `None` at end of stream. A longer
/// line is cut at `max` bytes.
async fn read_line(reader: &mut Lines, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = reader.read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    buf.truncate(max);
    Ok(Some(buf))
}

enum Data {
    Message(String),
    TooLarge,
    Closed,
}

/// The lines after DATA up to the lone ".", with the leading dot of ".." lines removed
/// (RFC 5321 §4.5.2). A message over the size limit is read to its end and refused.
async fn read_data(reader: &mut Lines) -> std::io::Result<Data> {
    let mut raw: Vec<u8> = Vec::new();
    let mut too_large = false;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(Data::Closed);
        }
        let content = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .unwrap_or(&line);
        if content == b"." {
            break;
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if raw.len() + content.len() + 2 > MAX_MESSAGE_BYTES {
            too_large = true;
            raw.clear();
        }
        if !too_large {
            raw.extend_from_slice(content);
            raw.extend_from_slice(b"\r\n");
        }
    }
    if too_large {
        return Ok(Data::TooLarge);
    }
    Ok(Data::Message(String::from_utf8_lossy(&raw).into_owned()))
}

fn control_routes() -> Router<Shared> {
    Router::new()
        .route("/messages", get(list).delete(clear))
        .route("/messages/{id}", get(one))
        .route("/state", get(state))
}

#[derive(Deserialize)]
struct Filter {
    /// Only messages whose envelope names this recipient (any case).
    to: Option<String>,
}

async fn list(State(s): State<Shared>, Query(f): Query<Filter>) -> Json<Vec<CaughtMessage>> {
    let store = lock(&s);
    Json(
        store
            .messages
            .iter()
            .filter(|m| {
                f.to.as_deref()
                    .is_none_or(|to| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            })
            .cloned()
            .collect(),
    )
}

async fn one(State(s): State<Shared>, Path(id): Path<u64>) -> Response {
    match lock(&s).messages.iter().find(|m| m.id == id) {
        Some(m) => Json(m.clone()).into_response(),
        None => crate::control::bad(StatusCode::NOT_FOUND, format!("no message {id}")),
    }
}

async fn clear(State(s): State<Shared>) -> StatusCode {
    lock(&s).messages.clear();
    StatusCode::NO_CONTENT
}

async fn state(State(s): State<Shared>) -> Json<Value> {
    let store = lock(&s);
    Json(json!({"messages": store.messages.len(), "sessions": store.sessions}))
}
