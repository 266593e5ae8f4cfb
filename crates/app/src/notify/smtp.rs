//! The SMTP settings as the notify crate wants them, and the "Send test e-mail" button.

use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_notify::Rendered;
use boxoffice_notify::email::{self, EmailError, Outgoing, Security, SmtpSettings};
use std::time::Duration;

const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub(super) fn from_settings(app: &App, s: &Settings) -> Result<SmtpSettings, AppError> {
    let host = s.get("email.smtp_host").trim().to_string();
    if host.is_empty() {
        return Err(AppError::invalid(
            "email.smtp_host",
            "E-mail is not set up: the SMTP host is empty (Settings → E-mail).",
        ));
    }
    let from = s.get("email.from_address").trim().to_string();
    if from.is_empty() {
        return Err(AppError::invalid(
            "email.from_address",
            "E-mail is not set up: the From address is empty (Settings → E-mail).",
        ));
    }
    let security = Security::parse(s.get("email.smtp_security")).unwrap_or(Security::StartTls);
    let port = u16::try_from(s.int("email.smtp_port")).unwrap_or(587);
    let username = Some(s.get("email.smtp_username").to_string()).filter(|u| !u.is_empty());
    let name = match s.get("email.from_name") {
        "" => s.get("general.site_name"),
        n => n,
    };
    Ok(SmtpSettings {
        host,
        port,
        security,
        username,
        password: s.secret(app, "email.smtp_password")?,
        from_address: from,
        from_name: name.to_string(),
        reply_to: Some(s.get("email.reply_to").to_string()).filter(|r| !r.is_empty()),
        extra_root_pem: None,
        timeout: SMTP_TIMEOUT,
    })
}

pub(super) fn delivery_error(e: EmailError) -> AppError {
    AppError::Delivery {
        retryable: e.retryable(),
        message: e.to_string(),
        retry_after_secs: None,
    }
}

pub(super) async fn send(
    smtp: &SmtpSettings,
    to: &str,
    to_name: Option<String>,
    r: &Rendered,
) -> Result<String, AppError> {
    email::send(
        smtp,
        &Outgoing {
            to: to.to_string(),
            to_name,
            subject: r.subject.clone(),
            text: r.text.clone(),
            html: Some(r.html.clone()),
        },
    )
    .await
    .map_err(delivery_error)
}

impl App {
    /// Connects and logs in to the SMTP server, then sends a short test message to `to`.
    pub async fn test_smtp(&self, actor: &crate::audit::Actor, to: &str) -> Result<(), AppError> {
        let settings = self.settings().await?;
        let smtp = from_settings(self, &settings)?;
        let site = settings.get("general.site_name").to_string();
        email::send(
            &smtp,
            &Outgoing {
                to: to.to_string(),
                to_name: None,
                subject: format!("{site}: test e-mail"),
                text: format!(
                    "This is a test e-mail from {site}. Your SMTP settings work ({}:{}).\n",
                    smtp.host, smtp.port
                ),
                html: None,
            },
        )
        .await
        .map_err(delivery_error)?;
        let mut tx = self.db.begin().await?;
        self.audit(tx.ex(), actor, "notifications.test_smtp", to, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
