//! Rendering owner-editable templates. HTML bodies are auto-escaped (a customer named `<script>`
//! stays text); subjects, text bodies and Discord messages are plain text. Placeholders the event
//! does not provide are refused when a template is saved, so a typo never reaches a customer.

use boxoffice_domain::notifications::{Channel, TemplateText};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    /// The complete HTML document (the body inside the shared layout); empty for Discord.
    pub html: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("{part}: {message}")]
    Template { part: &'static str, message: String },
    #[error("{part}: unknown placeholder {names}; this event offers {offered}")]
    UnknownPlaceholder {
        part: &'static str,
        names: String,
        offered: String,
    },
}

/// Discord caps a message at 2,000 characters; longer texts are cut with an ellipsis.
const DISCORD_MAX: usize = 2000;

const LAYOUT: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2430;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px">
{{ body }}
</div>
<p style="max-width:560px;margin:12px auto 0;font-size:12px;color:#6b7280;text-align:center">{{ site_name }}</p>
</body></html>
"#;

fn environment(strict: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_undefined_behavior(if strict {
        UndefinedBehavior::Strict
    } else {
        UndefinedBehavior::Lenient
    });
    env
}

fn render_one(
    env: &Environment<'_>,
    part: &'static str,
    name: &str,
    source: &str,
    ctx: &Value,
) -> Result<String, RenderError> {
    let tmpl = env
        .template_from_named_str(name, source)
        .map_err(|e| RenderError::Template {
            part,
            message: describe(&e),
        })?;
    tmpl.render(ctx).map_err(|e| RenderError::Template {
        part,
        message: describe(&e),
    })
}

fn describe(e: &minijinja::Error) -> String {
    match (e.detail(), e.line()) {
        (Some(d), Some(line)) => format!("line {line}: {d}"),
        (Some(d), None) => d.to_string(),
        (None, Some(line)) => format!("line {line}: {}", e.kind()),
        (None, None) => e.kind().to_string(),
    }
}

/// Renders one event's template for one channel with the given values.
pub fn render(channel: Channel, t: &TemplateText, ctx: &Value) -> Result<Rendered, RenderError> {
    let env = environment(false);
    match channel {
        Channel::Email => {
            let subject = render_one(&env, "Subject", "subject.txt", &t.subject, ctx)?;
            // A header is one line: a newline from a template or a value would end it.
            let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
            let text = render_one(&env, "Text body", "body.txt", &t.text, ctx)?;
            let body = render_one(&env, "HTML body", "body.html", &t.html, ctx)?;
            let site = ctx.get("site_name").cloned().unwrap_or(Value::Null);
            let layout_ctx = minijinja::context! {
                subject => subject,
                site_name => minijinja::Value::from_serialize(&site),
                body => minijinja::Value::from_safe_string(body),
            };
            let html = env
                .template_from_named_str("layout.html", LAYOUT)
                .and_then(|tmpl| tmpl.render(&layout_ctx))
                .map_err(|e| RenderError::Template {
                    part: "Layout",
                    message: describe(&e),
                })?;
            Ok(Rendered {
                subject,
                text,
                html,
            })
        }
        Channel::Discord => {
            let mut text = render_one(&env, "Message", "message.md", &t.text, ctx)?;
            if text.chars().count() > DISCORD_MAX {
                text = text.chars().take(DISCORD_MAX - 1).collect::<String>() + "…";
            }
            Ok(Rendered {
                subject: String::new(),
                text,
                html: String::new(),
            })
        }
    }
}

/// Checks an edited template before it is saved: it must parse, name only the placeholders the
/// event offers, and render with the event's sample values.
pub fn check_template(
    channel: Channel,
    t: &TemplateText,
    offered: &[&str],
    sample: &Value,
) -> Result<(), RenderError> {
    let env = environment(true);
    let parts: Vec<(&'static str, &str, &str)> = match channel {
        Channel::Email => vec![
            ("Subject", "subject.txt", t.subject.as_str()),
            ("Text body", "body.txt", t.text.as_str()),
            ("HTML body", "body.html", t.html.as_str()),
        ],
        Channel::Discord => vec![("Message", "message.md", t.text.as_str())],
    };
    for (part, name, source) in parts {
        let tmpl =
            env.template_from_named_str(name, source)
                .map_err(|e| RenderError::Template {
                    part,
                    message: describe(&e),
                })?;
        let mut unknown: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !offered.contains(&v.as_str()))
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(RenderError::UnknownPlaceholder {
                part,
                names: unknown.join(", "),
                offered: offered.join(", "),
            });
        }
        tmpl.render(sample).map_err(|e| RenderError::Template {
            part,
            message: describe(&e),
        })?;
    }
    if channel == Channel::Email && t.subject.trim().is_empty() {
        return Err(RenderError::Template {
            part: "Subject",
            message: "must not be empty".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::notifications::{self, EVENTS};
    use serde_json::json;

    fn invited() -> &'static notifications::EventDef {
        notifications::find("user_invited").unwrap()
    }

    #[test]
    fn every_default_template_passes_its_own_check() {
        for e in EVENTS {
            let offered: Vec<_> = e.placeholders().collect();
            for ch in Channel::ALL {
                check_template(ch, &e.default_text(ch), &offered, &e.sample())
                    .unwrap_or_else(|err| panic!("{} {:?}: {err}", e.key, ch));
            }
        }
    }

    #[test]
    fn a_customer_name_is_escaped_in_html_but_not_in_text() {
        let mut ctx = invited().sample();
        ctx["user_name"] = json!("<script>alert(1)</script>");
        let r = render(
            Channel::Email,
            &invited().default_text(Channel::Email),
            &ctx,
        )
        .unwrap();
        assert!(r.html.contains("Hi &lt;script&gt;alert(1)"), "{}", r.html);
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("Hi <script>alert(1)</script>,"));
    }

    #[test]
    fn a_subject_is_one_line_whatever_the_values() {
        let t = TemplateText {
            subject: "Hello {{ user_name }}".into(),
            text: "x".into(),
            html: "x".into(),
        };
        let r = render(Channel::Email, &t, &json!({"user_name": "A\r\nBcc: x@y"})).unwrap();
        assert_eq!(r.subject, "Hello A Bcc: x@y");
    }

    #[test]
    fn an_unknown_placeholder_is_named_when_saving() {
        let e = invited();
        let offered: Vec<_> = e.placeholders().collect();
        let mut t = e.default_text(Channel::Email);
        t.text = "Hi {{ user_nmae }}".into();
        let err = check_template(Channel::Email, &t, &offered, &e.sample()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Text body: unknown placeholder user_nmae")
        );
    }

    #[test]
    fn a_syntax_error_names_the_part_and_line() {
        let e = invited();
        let offered: Vec<_> = e.placeholders().collect();
        let mut t = e.default_text(Channel::Email);
        t.html = "<p>ok</p>\n{{ user_name ".into();
        let err = check_template(Channel::Email, &t, &offered, &e.sample()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("HTML body: line 2"), "{msg}");
    }

    #[test]
    fn long_discord_messages_are_cut_to_discords_limit() {
        let t = TemplateText {
            subject: String::new(),
            text: "{{ message }}".into(),
            html: String::new(),
        };
        let r = render(Channel::Discord, &t, &json!({"message": "x".repeat(5000)})).unwrap();
        assert_eq!(r.text.chars().count(), 2000);
    }
}
