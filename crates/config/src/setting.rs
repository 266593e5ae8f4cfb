//! How each type a key can have is read from the environment or the TOML file and written back
//! out. Keeping this per type, not per key, is what lets [`crate::keys`] stay a one-line-per-key
//! declaration.

use crate::config::{Config, LogFormat};
use crate::secret::{REDACTED, Secret};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::PathBuf;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

pub(crate) type TomlValue<'i> = Spanned<DeValue<'i>>;

pub(crate) trait Setting: Sized {
    /// Finishes "expected …" when text from the environment or a flag does not parse.
    const EXPECTED: &'static str;
    /// Secrets may come from a `_file` and are never echoed back.
    const SECRET: bool = false;

    fn from_text(text: &str) -> Option<Self>;
    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String>;
    /// `None` for an unset optional value, which TOML cannot spell.
    fn to_toml(&self) -> Option<toml::Value>;
}

/// The field accessor only serves to name the type, so no `Config` has to be built for it.
pub(crate) fn is_secret<T: Setting>(_field: fn(&Config) -> &T) -> bool {
    T::SECRET
}

pub(crate) fn assign_text<T: Setting>(slot: &mut T, text: &str) -> Result<(), &'static str> {
    *slot = T::from_text(text).ok_or(T::EXPECTED)?;
    Ok(())
}

pub(crate) fn assign_toml<T: Setting>(slot: &mut T, value: &TomlValue<'_>) -> Result<(), String> {
    *slot = T::from_toml(value)?;
    Ok(())
}

/// serde's messages ("invalid type: string \"many\", expected u32") are already what a user needs.
fn via_serde<T: DeserializeOwned>(value: &TomlValue<'_>) -> Result<T, String> {
    T::deserialize(ValueDeserializer::from(value.clone())).map_err(|e| e.message().to_owned())
}

macro_rules! whole_number {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            const EXPECTED: &'static str = "a whole number";

            fn from_text(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }

            fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
                via_serde(value)
            }

            fn to_toml(&self) -> Option<toml::Value> {
                // TOML integers are i64; a larger value still has to show up somewhere.
                Some(match i64::try_from(*self) {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => toml::Value::String(self.to_string()),
                })
            }
        }
    )*};
}

whole_number!(u32, u64);

impl Setting for bool {
    const EXPECTED: &'static str = "true/false, 1/0 or on/off";

    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" => Some(true),
            "false" | "0" | "off" => Some(false),
            _ => None,
        }
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        via_serde(value)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::Boolean(*self))
    }
}

impl Setting for String {
    const EXPECTED: &'static str = "text";

    fn from_text(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        via_serde(value)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::String(self.clone()))
    }
}

impl Setting for PathBuf {
    const EXPECTED: &'static str = "a path";

    fn from_text(text: &str) -> Option<Self> {
        (!text.is_empty()).then(|| PathBuf::from(text))
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        via_serde(value)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::String(self.to_string_lossy().into_owned()))
    }
}

impl Setting for SocketAddr {
    const EXPECTED: &'static str = "an IP address and port such as 127.0.0.1:8080 or [::]:8080";

    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        match value.get_ref() {
            // std's own parse error ("invalid socket address syntax") does not say what would do.
            DeValue::String(text) => Self::from_text(text).ok_or_else(|| {
                format!(
                    "invalid value: string {text:?}, expected {}",
                    Self::EXPECTED
                )
            }),
            _ => via_serde(value),
        }
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::String(self.to_string()))
    }
}

impl Setting for LogFormat {
    const EXPECTED: &'static str = "text or json";

    fn from_text(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        via_serde(value)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::String(self.as_str().to_owned()))
    }
}

impl Setting for Secret {
    const EXPECTED: &'static str = "text";
    const SECRET: bool = true;

    fn from_text(text: &str) -> Option<Self> {
        Some(Secret::new(text))
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        via_serde(value)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        Some(toml::Value::String(REDACTED.to_owned()))
    }
}

impl<T: Setting> Setting for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    const SECRET: bool = T::SECRET;

    fn from_text(text: &str) -> Option<Self> {
        T::from_text(text).map(Some)
    }

    fn from_toml(value: &TomlValue<'_>) -> Result<Self, String> {
        T::from_toml(value).map(Some)
    }

    fn to_toml(&self) -> Option<toml::Value> {
        self.as_ref().and_then(T::to_toml)
    }
}
