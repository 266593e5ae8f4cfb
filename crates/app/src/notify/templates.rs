//! The owner's view of the templates: the shipped defaults with any edits over them, validated
//! before they are saved, previewed with sample values, and sent as a test.

use super::smtp;
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::notifications::{self, Channel, EventDef, TemplateText};
use boxoffice_notify::{Rendered, check_template, render};
use boxoffice_store::Ex;
use boxoffice_store::notifications::{self as store, TemplateRow};

#[derive(Clone, Debug)]
pub struct EffectiveTemplate {
    pub event: &'static EventDef,
    pub channel: Channel,
    pub enabled: bool,
    pub text: TemplateText,
    /// Whether the owner changed the shipped text.
    pub customised: bool,
}

#[derive(Clone, Debug)]
pub struct TemplateSummary {
    pub event: &'static EventDef,
    pub email: EffectiveTemplate,
    pub discord: EffectiveTemplate,
}

fn merge(def: &'static EventDef, channel: Channel, row: Option<TemplateRow>) -> EffectiveTemplate {
    let default = def.default_text(channel);
    match row {
        None => EffectiveTemplate {
            event: def,
            channel,
            enabled: true,
            text: default,
            customised: false,
        },
        Some(r) => {
            let customised = r.subject.is_some() || r.body_text.is_some() || r.body_html.is_some();
            EffectiveTemplate {
                event: def,
                channel,
                enabled: r.enabled,
                text: TemplateText {
                    subject: r.subject.unwrap_or(default.subject),
                    text: r.body_text.unwrap_or(default.text),
                    html: r.body_html.unwrap_or(default.html),
                },
                customised,
            }
        }
    }
}

fn event(key: &str) -> Result<&'static EventDef, AppError> {
    notifications::find(key).ok_or(AppError::NotFound("notification event"))
}

impl App {
    pub async fn effective_template(
        &self,
        ex: Ex<'_>,
        event_key: &str,
        channel: Channel,
    ) -> Result<EffectiveTemplate, AppError> {
        let def = event(event_key)?;
        let row = store::template(ex, def.key, channel.as_str()).await?;
        Ok(merge(def, channel, row))
    }

    pub async fn notification_templates(&self) -> Result<Vec<TemplateSummary>, AppError> {
        let rows = store::templates(self.db.ex()).await?;
        let find = |key: &str, ch: Channel| {
            rows.iter()
                .find(|r| r.event == key && r.channel == ch.as_str())
                .cloned()
        };
        Ok(notifications::EVENTS
            .iter()
            .map(|def| TemplateSummary {
                event: def,
                email: merge(def, Channel::Email, find(def.key, Channel::Email)),
                discord: merge(def, Channel::Discord, find(def.key, Channel::Discord)),
            })
            .collect())
    }

    /// Saves an edit after checking it parses, names only this event's placeholders and renders.
    pub async fn save_template(
        &self,
        actor: &Actor,
        event_key: &str,
        channel: Channel,
        enabled: bool,
        text: TemplateText,
    ) -> Result<(), AppError> {
        let def = event(event_key)?;
        let offered: Vec<_> = def.placeholders().collect();
        check_template(channel, &text, &offered, &def.sample()).map_err(|e| {
            let field = match &e {
                boxoffice_notify::RenderError::Template { part, .. }
                | boxoffice_notify::RenderError::UnknownPlaceholder { part, .. } => match *part {
                    "Subject" => "subject",
                    "HTML body" => "html",
                    _ => "text",
                },
            };
            AppError::invalid(field, e.to_string())
        })?;
        let default = def.default_text(channel);
        // Text equal to the default is stored as "default", so a later improvement of the shipped
        // template reaches owners who never changed it.
        let keep = |new: String, old: String| if new == old { None } else { Some(new) };
        let row = TemplateRow {
            event: def.key.to_string(),
            channel: channel.as_str().to_string(),
            enabled,
            subject: keep(text.subject, default.subject),
            body_text: keep(text.text, default.text),
            body_html: keep(text.html, default.html),
            updated_at: self.now(),
        };
        let mut tx = self.db.begin().await?;
        store::save_template(tx.ex(), &row).await?;
        let target = format!("{}/{}", def.key, channel.as_str());
        let detail = if enabled { "enabled" } else { "disabled" };
        self.audit(
            tx.ex(),
            actor,
            "notifications.template.save",
            &target,
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts the shipped text back, keeping the on/off switch.
    pub async fn reset_template(
        &self,
        actor: &Actor,
        event_key: &str,
        channel: Channel,
    ) -> Result<(), AppError> {
        let def = event(event_key)?;
        let mut tx = self.db.begin().await?;
        let enabled = store::template(tx.ex(), def.key, channel.as_str())
            .await?
            .map(|r| r.enabled)
            .unwrap_or(true);
        let row = TemplateRow {
            event: def.key.to_string(),
            channel: channel.as_str().to_string(),
            enabled,
            subject: None,
            body_text: None,
            body_html: None,
            updated_at: self.now(),
        };
        store::save_template(tx.ex(), &row).await?;
        let target = format!("{}/{}", def.key, channel.as_str());
        self.audit(tx.ex(), actor, "notifications.template.reset", &target, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Renders a template (the stored one, or `draft` while editing) with the event's sample
    /// values and this site's name and address.
    pub async fn preview_template(
        &self,
        event_key: &str,
        channel: Channel,
        draft: Option<TemplateText>,
    ) -> Result<Rendered, AppError> {
        let def = event(event_key)?;
        let text = match draft {
            Some(t) => t,
            None => {
                self.effective_template(self.db.ex(), def.key, channel)
                    .await?
                    .text
            }
        };
        let ctx = self.sample_values(def).await?;
        render(channel, &text, &ctx).map_err(|e| AppError::invalid("template", e.to_string()))
    }

    async fn sample_values(&self, def: &EventDef) -> Result<serde_json::Value, AppError> {
        let settings = self.settings().await?;
        let mut ctx = def.sample();
        for (k, key) in [
            ("site_name", "general.site_name"),
            ("site_url", "general.site_uri"),
            ("admin_email", "general.admin_email"),
        ] {
            let v = settings.get(key);
            if !v.is_empty() {
                ctx[k] = v.into();
            }
        }
        Ok(ctx)
    }

    /// Sends one event's e-mail, filled with sample values, to `to` now (the "Send test" button).
    pub async fn send_test_email(
        &self,
        actor: &Actor,
        event_key: &str,
        to: &str,
    ) -> Result<String, AppError> {
        let def = event(event_key)?;
        let rendered = self.preview_template(def.key, Channel::Email, None).await?;
        let settings = self.settings().await?;
        let smtp = smtp::from_settings(self, &settings)?;
        let reply = smtp::send(&smtp, to, None, &rendered).await?;
        let mut tx = self.db.begin().await?;
        self.audit(tx.ex(), actor, "notifications.test_email", def.key, to)
            .await?;
        tx.commit().await?;
        Ok(reply)
    }
}
