//! Telling people things. A use case calls [`App::notify`] inside its own transaction: the
//! notification is written to the outbox with the values its templates need, and a delivery job
//! is queued beside it, so a change and the message about it commit together or not at all.
//! Delivery (rendering, SMTP, Discord) happens in the job, with retries, and the outbox row keeps
//! the outcome as the notification log.

mod admin;
mod contact;
mod deliver;
mod lifecycle;
mod log;
mod reminders;
mod smtp;
mod templates;

pub use contact::{CONTACT_LIMIT, CONTACT_MESSAGE_MAX, ContactMessage};
pub use deliver::{Delivered, NOTIFY_SEND_JOB};
pub use lifecycle::{PLEX_ACCEPT_URL, date, money};
pub use log::LOG_PAGE_MAX;
pub use reminders::REMINDERS_JOB;
pub use templates::{EffectiveTemplate, TemplateSummary};

use crate::queue::JobSpec;
use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_domain::notifications::{self, Audience, Channel};
use boxoffice_store::Ex;
use boxoffice_store::notifications::{self as store, NewNotification};
use serde_json::{Map, Value};

/// One thing to tell: the event, who it concerns and the event's own placeholder values.
#[derive(Clone, Debug)]
pub struct Notice {
    pub event: &'static str,
    pub customer_id: Option<i64>,
    pub values: Map<String, Value>,
    /// Set when the cause must be told once only (a reminder per payment and day).
    pub dedupe: Option<String>,
    /// An e-mail address that receives this instead of the audience's usual contact (a login's
    /// own address for its login code).
    pub address: Option<String>,
}

impl Notice {
    /// A message to the customer `customer_id` (their e-mail and Discord id).
    pub fn to_customer(event: &'static str, customer_id: i64) -> Self {
        Self {
            event,
            customer_id: Some(customer_id),
            values: Map::new(),
            dedupe: None,
            address: None,
        }
    }

    /// A message to the administrator contact; `about` names the customer concerned, if any.
    pub fn to_admin(event: &'static str, about: Option<i64>) -> Self {
        Self {
            event,
            customer_id: about,
            values: Map::new(),
            dedupe: None,
            address: None,
        }
    }

    /// A message to one e-mail address only.
    pub fn to_address(event: &'static str, email: &str) -> Self {
        Self {
            event,
            customer_id: None,
            values: Map::new(),
            dedupe: None,
            address: Some(email.to_string()),
        }
    }

    /// A System Message to the administrator.
    pub fn system_message(title: &str, message: &str) -> Self {
        Self::to_admin("system_message", None)
            .with("title", title)
            .with("message", message)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.values.insert(key.to_string(), value.into());
        self
    }

    pub fn once(mut self, key: impl Into<String>) -> Self {
        self.dedupe = Some(key.into());
        self
    }
}

/// A recipient on one channel.
struct Target {
    channel: Channel,
    recipient: String,
}

/// What every notice of one event shares: the event, the settings, and whether each channel is
/// on with its template switched on. Loaded once when many customers are told the same thing.
pub(crate) struct NoticeBatch {
    def: &'static notifications::EventDef,
    settings: Settings,
    email: bool,
    discord: bool,
}

impl NoticeBatch {
    /// Whether any channel is on with this event's template switched on.
    pub(crate) fn reaches_anyone(&self) -> bool {
        self.email || self.discord
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl App {
    /// Queues `notice` on every enabled channel that can reach its recipient, in the caller's
    /// transaction. Answers how many messages were queued (0 when nothing is set up, when the
    /// templates are switched off, or when this dedupe key was told before).
    pub async fn notify(&self, mut ex: Ex<'_>, notice: Notice) -> Result<usize, AppError> {
        let batch = self.notice_batch(ex.reborrow(), notice.event).await?;
        self.queue_notice(ex, &batch, notice).await
    }

    pub(crate) async fn notice_batch(
        &self,
        mut ex: Ex<'_>,
        event: &str,
    ) -> Result<NoticeBatch, AppError> {
        let settings = App::settings_in(ex.reborrow()).await?;
        self.notice_batch_from(ex, event, &settings).await
    }

    /// As [`Self::notice_batch`], with settings already read.
    pub(crate) async fn notice_batch_from(
        &self,
        mut ex: Ex<'_>,
        event: &str,
        settings: &Settings,
    ) -> Result<NoticeBatch, AppError> {
        let Some(def) = notifications::find(event) else {
            return Err(AppError::Internal(format!(
                "unknown notification event {event}"
            )));
        };
        let settings = settings.clone();
        let email = settings.bool("email.enabled")
            && self
                .effective_template(ex.reborrow(), def.key, Channel::Email)
                .await?
                .enabled;
        let discord = settings.bool("discord.enabled")
            && self
                .effective_template(ex, def.key, Channel::Discord)
                .await?
                .enabled;
        Ok(NoticeBatch {
            def,
            settings,
            email,
            discord,
        })
    }

    /// Queues one notice of `batch`'s event (see [`App::notify`]).
    pub(crate) async fn queue_notice(
        &self,
        mut ex: Ex<'_>,
        batch: &NoticeBatch,
        notice: Notice,
    ) -> Result<usize, AppError> {
        let (def, settings) = (batch.def, &batch.settings);
        if notice.event != def.key {
            return Err(AppError::Internal(format!(
                "a {} notice queued with the {} batch",
                notice.event, def.key
            )));
        }
        if !batch.reaches_anyone() {
            return Ok(0);
        }
        let mut values = Map::new();
        values.insert("site_name".into(), settings.get("general.site_name").into());
        values.insert("site_url".into(), settings.get("general.site_uri").into());
        values.insert(
            "admin_email".into(),
            settings.get("general.admin_email").into(),
        );
        let contact = match notice.customer_id {
            Some(id) => store::customer_contact(ex.reborrow(), id).await?,
            None => None,
        };
        if let Some(c) = &contact {
            values.insert("user_email".into(), c.email.clone().into());
            let name = if c.display_name.trim().is_empty() {
                c.email.split('@').next().unwrap_or(&c.email).to_string()
            } else {
                c.display_name.clone()
            };
            values.insert("user_name".into(), name.into());
        }
        for (k, v) in &notice.values {
            values.insert(k.clone(), v.clone());
        }

        let mut targets = Vec::new();
        let (email_on, discord_on) = (batch.email, batch.discord);
        match (&notice.address, def.audience) {
            (Some(address), _) => {
                if email_on {
                    targets.push(Target {
                        channel: Channel::Email,
                        recipient: address.clone(),
                    });
                }
            }
            (None, Audience::Customer) => {
                let Some(c) = &contact else {
                    return Ok(0);
                };
                if email_on && !c.email.is_empty() {
                    targets.push(Target {
                        channel: Channel::Email,
                        recipient: c.email.clone(),
                    });
                }
                if discord_on && !c.discord_id.trim().is_empty() {
                    targets.push(Target {
                        channel: Channel::Discord,
                        recipient: c.discord_id.trim().to_string(),
                    });
                }
            }
            (None, Audience::Admin) => {
                let admin_email = settings.get("general.admin_email");
                if email_on && !admin_email.is_empty() {
                    targets.push(Target {
                        channel: Channel::Email,
                        recipient: admin_email.to_string(),
                    });
                }
                let admin_discord = settings.get("general.admin_discord_id").trim();
                let admin_channel = settings.get("discord.admin_channel_id").trim();
                if discord_on {
                    if !admin_channel.is_empty() {
                        targets.push(Target {
                            channel: Channel::Discord,
                            recipient: format!("channel:{admin_channel}"),
                        });
                    } else if !admin_discord.is_empty() {
                        targets.push(Target {
                            channel: Channel::Discord,
                            recipient: admin_discord.to_string(),
                        });
                    }
                }
            }
        }

        let sealed = self.secrets.seal(&Value::Object(values).to_string())?;
        let mut queued = 0;
        for t in targets {
            let key = notice
                .dedupe
                .as_ref()
                .map(|d| format!("{d}:{}", t.channel.as_str()));
            let id = store::insert(
                ex.reborrow(),
                &NewNotification {
                    event: def.key,
                    channel: t.channel.as_str(),
                    recipient: &t.recipient,
                    customer_id: notice.customer_id,
                    context_sealed: &sealed,
                    dedupe_key: key.as_deref(),
                },
                self.now(),
            )
            .await?;
            if let Some(id) = id {
                self.enqueue(
                    ex.reborrow(),
                    JobSpec::new(
                        NOTIFY_SEND_JOB,
                        serde_json::json!({ "notification_id": id }),
                    )
                    .key(format!("notify:{id}")),
                )
                .await?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// `notify` in a transaction of its own, for callers that have none open.
    pub async fn notify_now(&self, notice: Notice) -> Result<usize, AppError> {
        let mut tx = self.db.begin().await?;
        let n = self.notify(tx.ex(), notice).await?;
        tx.commit().await?;
        Ok(n)
    }
}
