//! Runtime settings: the registry (`boxoffice_domain::settings`) declares them, the database keeps
//! what an owner changed, and this module reads and writes them with validation. Secrets are
//! sealed before they are stored and never returned by `view`.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::settings::{self as registry, Kind, SettingDef, SettingError};
use boxoffice_store::settings as store;
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct Settings {
    stored: HashMap<String, String>,
}

/// One setting as an admin page or the API shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettingView {
    pub key: &'static str,
    pub section: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub kind: &'static str,
    /// The effective value; for a secret only whether one is set.
    pub value: String,
    pub default: &'static str,
    pub is_default: bool,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Bool => "bool",
        Kind::Int { .. } => "int",
        Kind::Text { .. } => "text",
        Kind::Secret => "secret",
        Kind::Email => "email",
        Kind::Url => "url",
        Kind::Currency => "currency",
        Kind::DayList => "day_list",
        Kind::Choice(_) => "choice",
        Kind::Schedule => "schedule",
        Kind::Amount => "amount",
        Kind::Colour => "colour",
    }
}

impl Settings {
    fn raw(&self, def: &SettingDef) -> &str {
        self.stored
            .get(def.key)
            .map(String::as_str)
            .unwrap_or(def.default)
    }

    /// The effective value of a non-secret setting. Unknown keys are a programming error and
    /// read as empty.
    pub fn get(&self, key: &str) -> &str {
        match registry::find(key) {
            Some(def) if def.kind != Kind::Secret => self.raw(def),
            _ => "",
        }
    }

    /// The customer's account page on the public site, for links in messages.
    pub fn account_url(&self) -> String {
        format!(
            "{}/account",
            self.get("general.site_uri").trim_end_matches('/')
        )
    }

    /// The customer's page of their own streams, where they choose which to stop.
    pub fn my_streams_url(&self) -> String {
        format!("{}/streams", self.account_url())
    }

    pub fn bool(&self, key: &str) -> bool {
        self.get(key) == "true"
    }

    pub fn int(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap_or_else(|_| {
            registry::find(key)
                .and_then(|d| d.default.parse().ok())
                .unwrap_or(0)
        })
    }

    pub fn secret(&self, app: &App, key: &str) -> Result<Option<String>, AppError> {
        match self.stored.get(key) {
            Some(sealed) if !sealed.is_empty() => Ok(Some(app.secrets.open(sealed)?)),
            _ => Ok(None),
        }
    }

    pub fn view(&self) -> Vec<SettingView> {
        registry::REGISTRY
            .iter()
            .map(|d| {
                let is_default = !self.stored.contains_key(d.key);
                let value = if d.kind == Kind::Secret {
                    if is_default {
                        String::new()
                    } else {
                        "(set)".into()
                    }
                } else {
                    self.raw(d).to_string()
                };
                SettingView {
                    key: d.key,
                    section: d.section,
                    label: d.label,
                    help: d.help,
                    kind: kind_name(d.kind),
                    value,
                    default: d.default,
                    is_default,
                }
            })
            .collect()
    }
}

fn setting_error(e: SettingError) -> AppError {
    match e {
        SettingError::Unknown { .. } => AppError::invalid("key", e.to_string()),
        SettingError::Invalid { .. } => AppError::invalid("value", e.to_string()),
    }
}

impl App {
    pub async fn settings(&self) -> Result<Settings, AppError> {
        Self::settings_in(self.db.ex()).await
    }

    /// The settings as seen inside a transaction (a use case that reads them while writing).
    pub async fn settings_in(ex: boxoffice_store::Ex<'_>) -> Result<Settings, AppError> {
        let stored = store::all(ex).await?.into_iter().collect();
        Ok(Settings { stored })
    }

    /// Validates and stores one setting; an empty secret removes it.
    pub async fn set_setting(&self, actor: &Actor, key: &str, raw: &str) -> Result<(), AppError> {
        let (def, canonical) = registry::validate_key(key, raw).map_err(setting_error)?;
        let mut tx = self.db.begin().await?;
        if def.kind == Kind::Secret {
            if canonical.is_empty() {
                store::remove(tx.ex(), def.key).await?;
            } else {
                store::put(
                    tx.ex(),
                    def.key,
                    &self.secrets.seal(&canonical)?,
                    actor.login_id,
                    self.now(),
                )
                .await?;
            }
            self.audit(tx.ex(), actor, "settings.update", def.key, "secret changed")
                .await?;
        } else {
            store::put(tx.ex(), def.key, &canonical, actor.login_id, self.now()).await?;
            self.audit(tx.ex(), actor, "settings.update", def.key, &canonical)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Validates every change first and stores all of them or none.
    pub async fn set_settings(
        &self,
        actor: &Actor,
        changes: &[(String, String)],
    ) -> Result<(), AppError> {
        let mut checked = Vec::new();
        for (k, v) in changes {
            checked.push(registry::validate_key(k, v).map_err(setting_error)?);
        }
        let mut tx = self.db.begin().await?;
        for (def, canonical) in checked {
            if def.kind == Kind::Secret {
                // A blank secret field in a form means "leave it as it is".
                if canonical.is_empty() {
                    continue;
                }
                store::put(
                    tx.ex(),
                    def.key,
                    &self.secrets.seal(&canonical)?,
                    actor.login_id,
                    self.now(),
                )
                .await?;
                self.audit(tx.ex(), actor, "settings.update", def.key, "secret changed")
                    .await?;
            } else {
                store::put(tx.ex(), def.key, &canonical, actor.login_id, self.now()).await?;
                self.audit(tx.ex(), actor, "settings.update", def.key, &canonical)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// The Site URI setting alone (empty when unset), read on every request by the host check,
    /// so it costs one indexed lookup rather than the whole settings table.
    pub async fn site_uri(&self) -> Result<String, AppError> {
        Ok(store::get(self.db.ex(), "general.site_uri")
            .await?
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod key_checks {
    //! Settings are read by key; a mistyped key would silently read as empty. Every key the
    //! source reads through `Settings` must be declared, and read as the kind it is declared.
    use boxoffice_domain::settings::{self as registry, Kind};
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// (accessor, key) for every `.get("a.b")`, `.bool("a.b")` and `.int("a.b")` in `text`.
    fn reads(text: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for accessor in ["get", "bool", "int"] {
            let needle = format!(".{accessor}(\"");
            let mut rest = text;
            while let Some(at) = rest.find(&needle) {
                rest = &rest[at + needle.len()..];
                let key: String = rest
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '.'
                    })
                    .collect();
                let section = key.split('.').next().unwrap_or_default();
                if key.contains('.')
                    && registry::REGISTRY
                        .iter()
                        .any(|d| d.key.starts_with(&format!("{section}.")))
                {
                    out.push((accessor, key));
                }
            }
        }
        out
    }

    #[test]
    fn every_settings_key_the_code_reads_is_declared_and_read_as_its_kind() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for krate in ["app", "web", "jobs", "boxoffice"] {
            sources(&root.join(krate).join("src"), &mut files);
        }
        assert!(files.len() > 50, "{} source files", files.len());
        let mut wrong = Vec::new();
        let mut checked = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).expect("source");
            for (accessor, key) in reads(&text) {
                checked += 1;
                let fits = match registry::find(&key).map(|d| d.kind) {
                    None => false,
                    Some(Kind::Secret) => false,
                    Some(Kind::Bool) => accessor != "int",
                    Some(Kind::Int { .. }) => accessor != "bool",
                    Some(_) => accessor == "get",
                };
                if !fits {
                    wrong.push(format!("{}: .{accessor}(\"{key}\")", f.display()));
                }
            }
        }
        assert!(checked > 40, "only {checked} reads found");
        assert!(
            wrong.is_empty(),
            "undeclared or mis-read settings:\n{}",
            wrong.join("\n")
        );
    }
}
