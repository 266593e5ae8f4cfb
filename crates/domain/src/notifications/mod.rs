//! The catalogue of everything boxoffice tells people: each event, who receives it, the
//! placeholders its templates may use, sample values for previews, and the default templates.
//! Rendering and delivery live elsewhere; this is the single list the admin pages, the sender and
//! the tests all read.

mod catalogue;

pub use catalogue::EVENTS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The customer concerned (their e-mail, their Discord id).
    Customer,
    /// The administrator contact of the General settings (e-mail, Discord id or admin channel).
    Admin,
}

impl Audience {
    pub fn label(self) -> &'static str {
        match self {
            Audience::Customer => "Customer",
            Audience::Admin => "Administrator",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Discord,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Discord];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Discord => "discord",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "discord" => Some(Channel::Discord),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Discord => "Discord",
        }
    }
}

/// The editable text of one event on one channel. E-mail uses subject, text and html; Discord uses
/// `text` only (Discord markdown) and ignores the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateText {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug)]
pub struct EventDef {
    /// Stable identifier stored with templates and log rows.
    pub key: &'static str,
    /// The name the owner sees ("Subscription Expiring Soon").
    pub name: &'static str,
    pub audience: Audience,
    /// When it is sent, in one sentence, for the template page.
    pub trigger: &'static str,
    /// Placeholders specific to this event, with a sample value each (previews and "send test").
    pub fields: &'static [(&'static str, &'static str)],
    pub subject: &'static str,
    pub text: &'static str,
    /// The inner HTML; the sender wraps it in the shared layout.
    pub html: &'static str,
    pub discord: &'static str,
}

/// Placeholders every template may use, filled by the sender from the settings and the recipient.
pub const COMMON_FIELDS: &[(&str, &str)] = &[
    ("site_name", "Example TV"),
    ("site_url", "https://tv.example.com"),
    ("admin_email", "owner@example.com"),
    ("user_email", "alex@example.com"),
    ("user_name", "Alex"),
];

impl EventDef {
    pub fn default_text(&self, channel: Channel) -> TemplateText {
        match channel {
            Channel::Email => TemplateText {
                subject: self.subject.to_string(),
                text: self.text.to_string(),
                html: self.html.to_string(),
            },
            Channel::Discord => TemplateText {
                subject: String::new(),
                text: self.discord.to_string(),
                html: String::new(),
            },
        }
    }

    /// Every placeholder name the templates of this event may use.
    pub fn placeholders(&self) -> impl Iterator<Item = &'static str> + '_ {
        COMMON_FIELDS
            .iter()
            .chain(self.fields.iter())
            .map(|(name, _)| *name)
    }

    /// Sample values for every placeholder, for previews and test sends.
    pub fn sample(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, v) in COMMON_FIELDS.iter().chain(self.fields.iter()) {
            map.insert(
                (*k).to_string(),
                serde_json::Value::String((*v).to_string()),
            );
        }
        serde_json::Value::Object(map)
    }
}

pub fn find(key: &str) -> Option<&'static EventDef> {
    EVENTS.iter().find(|e| e.key == key)
}

/// The invite notice of a server's platform: Plex users accept a share on plex.tv, Jellyfin and
/// Emby users get a username on the server and a link to choose their password.
pub fn invite_event(platform: crate::platform::Platform) -> &'static str {
    use crate::platform::Platform;
    match platform {
        Platform::Plex => "user_invited",
        Platform::Jellyfin => "user_invited_jellyfin",
        Platform::Emby => "user_invited_emby",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_event_has_a_unique_key_and_name() {
        let keys: HashSet<_> = EVENTS.iter().map(|e| e.key).collect();
        let names: HashSet<_> = EVENTS.iter().map(|e| e.name).collect();
        assert_eq!(keys.len(), EVENTS.len());
        assert_eq!(names.len(), EVENTS.len());
    }

    #[test]
    fn the_documented_event_names_exist() {
        let names: Vec<_> = EVENTS.iter().map(|e| e.name).collect();
        assert!(names.contains(&"Subscription Expiring Soon"));
        assert!(names.contains(&"System Message"));
    }

    #[test]
    fn each_platform_has_an_invite_that_tells_how_to_get_in_there() {
        use crate::platform::Platform;
        let plex = find(invite_event(Platform::Plex)).expect("plex invite");
        for body in [plex.text, plex.html, plex.discord] {
            assert!(body.contains("{{ invite_accept_url }}"), "{body}");
            assert!(body.contains("Plex"), "{body}");
        }
        for (platform, name) in [(Platform::Jellyfin, "Jellyfin"), (Platform::Emby, "Emby")] {
            let e = find(invite_event(platform)).expect("invite");
            assert!(e.subject.contains(name));
            for body in [e.text, e.html, e.discord] {
                assert!(body.contains(name), "{body}");
                assert!(!body.contains("Plex"), "{body}");
                for needed in ["server_url", "media_username", "set_password_url"] {
                    assert!(
                        body.contains(&format!("{{{{ {needed} }}}}")),
                        "{needed}: {body}"
                    );
                }
            }
        }
    }

    /// A default template naming a placeholder its event does not list would render empty text.
    #[test]
    fn default_templates_use_only_listed_placeholders() {
        for e in EVENTS {
            let allowed: HashSet<_> = e.placeholders().collect();
            for body in [e.subject, e.text, e.html, e.discord] {
                let mut rest = body;
                while let Some(start) = rest.find("{{") {
                    let after = &rest[start + 2..];
                    let end = after.find("}}").expect("closed placeholder");
                    let name = after[..end].trim();
                    let name = name.split('|').next().unwrap_or(name).trim();
                    assert!(
                        allowed.contains(name),
                        "{}: unknown placeholder {name}",
                        e.key
                    );
                    rest = &after[end + 2..];
                }
            }
        }
    }
}
