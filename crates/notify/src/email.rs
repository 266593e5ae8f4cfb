//! Sending one e-mail over SMTP: plain, STARTTLS or implicit TLS, with or without a login. A new
//! connection per message keeps the code free of pooled state; volumes here are small (reminders,
//! invites), and the send job retries transient failures.

use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text; only for a relay on the same machine or network.
    None,
    /// Plain connection upgraded with STARTTLS, refused when the server does not offer it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl Security {
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "none" => Some(Security::None),
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: String,
    pub reply_to: Option<String>,
    /// An extra trusted root in PEM (a private relay with its own CA).
    pub extra_root_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_address", &self.from_address)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    /// Sent as the HTML alternative when present.
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("{field} is not a usable e-mail address: {value}")]
    Address { field: &'static str, value: String },
    #[error("e-mail is not set up: {0}")]
    NotConfigured(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The server refused for good (5xx: unknown mailbox, authentication failed).
    #[error("the SMTP server refused the message: {0}")]
    Refused(String),
    /// Worth trying again (connection failed, timeout, 4xx).
    #[error("the SMTP server could not be reached or asked to try later: {0}")]
    Transient(String),
}

impl EmailError {
    pub fn retryable(&self) -> bool {
        matches!(self, EmailError::Transient(_))
    }
}

fn mailbox(field: &'static str, name: Option<&str>, addr: &str) -> Result<Mailbox, EmailError> {
    let address = addr.trim().parse().map_err(|_| EmailError::Address {
        field,
        value: addr.to_string(),
    })?;
    Ok(Mailbox::new(
        name.filter(|n| !n.trim().is_empty()).map(|n| n.to_string()),
        address,
    ))
}

fn build_message(s: &SmtpSettings, m: &Outgoing) -> Result<Message, EmailError> {
    let from = mailbox("From address", Some(&s.from_name), &s.from_address)?;
    let to = mailbox("Recipient", m.to_name.as_deref(), &m.to)?;
    // A Message-ID: receiving servers score mail without one as spam.
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .message_id(None);
    if let Some(r) = s.reply_to.as_deref().filter(|r| !r.trim().is_empty()) {
        b = b.reply_to(mailbox("Reply-to", None, r)?);
    }
    let built = match &m.html {
        Some(html) => b.multipart(MultiPart::alternative_plain_html(
            m.text.clone(),
            html.clone(),
        )),
        None => b.header(ContentType::TEXT_PLAIN).body(m.text.clone()),
    };
    built.map_err(|e| EmailError::Build(e.to_string()))
}

fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    if s.host.trim().is_empty() {
        return Err(EmailError::NotConfigured("SMTP host is empty".into()));
    }
    let tls_params = || -> Result<TlsParameters, EmailError> {
        let mut b = TlsParameters::builder(s.host.clone());
        if let Some(pem) = &s.extra_root_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| EmailError::NotConfigured(format!("extra root certificate: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| EmailError::NotConfigured(format!("TLS: {e}")))
    };
    let tls = match s.security {
        Security::None => Tls::None,
        Security::StartTls => Tls::Required(tls_params()?),
        Security::Tls => Tls::Wrapper(tls_params()?),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.trim())
        .port(s.port)
        .tls(tls)
        .timeout(Some(s.timeout));
    if let Some(user) = s.username.as_deref().filter(|u| !u.is_empty()) {
        b = b
            .credentials(Credentials::new(
                user.to_string(),
                s.password.clone().unwrap_or_default(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(b.build())
}

fn classify(e: lettre::transport::smtp::Error) -> EmailError {
    if e.is_permanent() {
        EmailError::Refused(e.to_string())
    } else if e.is_client() {
        // e.g. no authentication mechanism in common: a setup problem no retry will fix.
        EmailError::Refused(e.to_string())
    } else {
        EmailError::Transient(e.to_string())
    }
}

/// Sends one message; the server's reply on success (e.g. "250 OK queued as …").
pub async fn send(s: &SmtpSettings, m: &Outgoing) -> Result<String, EmailError> {
    let message = build_message(s, m)?;
    let t = transport(s)?;
    let reply = t.send(message).await.map_err(classify)?;
    Ok(reply.message().collect::<Vec<_>>().join(" "))
}

/// Opens a connection, greets and logs in, without sending anything.
pub async fn test_connection(s: &SmtpSettings) -> Result<(), EmailError> {
    let t = transport(s)?;
    match t.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(EmailError::Transient(
            "the server did not answer NOOP".into(),
        )),
        Err(e) => Err(classify(e)),
    }
}
