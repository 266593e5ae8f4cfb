//! Delivering one queued notification: render its template with the stored values, send it on
//! its channel, and record the outcome in the log. Transient failures leave the row "retrying"
//! and the job tries again with backoff; the last failure leaves it "failed" with the reason.

use super::smtp;
use crate::{App, AppError};
use boxoffice_domain::notifications::Channel;
use boxoffice_notify::render;
use boxoffice_store::notifications as store;

pub const NOTIFY_SEND_JOB: &str = "notify.send";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// Not sent on purpose: the channel or template was switched off after it was queued, or it
    /// had already been sent (a replayed job).
    Skipped,
}

impl App {
    /// Delivers notification `id`. `last_attempt` says whether a failure now is final.
    pub async fn deliver_notification(
        &self,
        id: i64,
        last_attempt: bool,
    ) -> Result<Delivered, AppError> {
        let row = store::get(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("notification"))?;
        if row.status == "sent" || row.status == "skipped" {
            return Ok(Delivered::Skipped);
        }
        let Some(channel) = Channel::parse(&row.channel) else {
            return Err(AppError::Internal(format!(
                "unknown channel {}",
                row.channel
            )));
        };
        let settings = self.settings().await?;
        let tmpl = self
            .effective_template(self.db.ex(), &row.event, channel)
            .await?;
        let channel_on = match channel {
            Channel::Email => settings.bool("email.enabled"),
            Channel::Discord => settings.bool("discord.enabled"),
        };
        if !tmpl.enabled || !channel_on {
            let why = if channel_on {
                "template switched off"
            } else {
                "channel switched off"
            };
            store::record_attempt(self.db.ex(), id, "skipped", "", why, None).await?;
            return Ok(Delivered::Skipped);
        }
        let ctx: serde_json::Value = serde_json::from_str(&self.secrets.open(&row.context_sealed)?)
            .map_err(|e| AppError::Internal(format!("notification {id} values: {e}")))?;
        let rendered = match render(channel, &tmpl.text, &ctx) {
            Ok(r) => r,
            Err(e) => {
                let msg = e.to_string();
                store::record_attempt(self.db.ex(), id, "failed", "", &msg, None).await?;
                return Err(AppError::Delivery {
                    message: msg,
                    retryable: false,
                    retry_after_secs: None,
                });
            }
        };
        let sent = match channel {
            Channel::Email => match smtp::from_settings(self, &settings) {
                Ok(s) => {
                    let name = ctx["user_name"].as_str().map(str::to_string);
                    let name = name.filter(|_| row.customer_id.is_some());
                    smtp::send(&s, &row.recipient, name, &rendered)
                        .await
                        .map(|_| ())
                }
                Err(e) => Err(AppError::Delivery {
                    message: e.to_string(),
                    retryable: true,
                    retry_after_secs: None,
                }),
            },
            Channel::Discord => self.deliver_discord(&row.recipient, &rendered.text).await,
        };
        match sent {
            Ok(()) => {
                store::record_attempt(
                    self.db.ex(),
                    id,
                    "sent",
                    &rendered.subject,
                    "",
                    Some(self.now()),
                )
                .await?;
                Ok(Delivered::Sent)
            }
            Err(e) => {
                let retryable = matches!(
                    e,
                    AppError::Delivery {
                        retryable: true,
                        ..
                    }
                );
                let status = if retryable && !last_attempt {
                    "retrying"
                } else {
                    "failed"
                };
                store::record_attempt(
                    self.db.ex(),
                    id,
                    status,
                    &rendered.subject,
                    &e.to_string(),
                    None,
                )
                .await?;
                Err(e)
            }
        }
    }

    /// Marks a notification whose delivery job was given up.
    pub async fn notification_given_up(&self, id: i64, error: &str) -> Result<(), AppError> {
        store::mark_failed(self.db.ex(), id, error).await?;
        Ok(())
    }

    async fn deliver_discord(&self, recipient: &str, text: &str) -> Result<(), AppError> {
        let sent = if recipient.starts_with("channel:") {
            self.discord_post_channel(text).await
        } else {
            self.discord_dm(recipient, text).await
        };
        sent.map_err(|e| AppError::Delivery {
            retryable: e.retryable(),
            retry_after_secs: e
                .retry_after()
                .map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX)),
            message: e.to_string(),
        })
    }
}
