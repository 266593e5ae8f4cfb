//! Jellyfin and Emby user lists read straight into the few fields boxoffice uses. A server with
//! thousands of users answers with megabytes of JSON (each user carries its whole policy and
//! configuration); reading that into a generic JSON tree first cost tens of MiB for one list.
//! The readers are as forgiving as the tree was: a field of an unexpected type reads as absent,
//! a list that is not an array as empty.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

use crate::types::{MediaUser, UserRef};

/// A non-empty string, or a number as text; anything else is absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Text(pub Option<String>);

/// A boolean; anything else is absent.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Flag(pub Option<bool>);

/// An array of [`Text`] (absent items dropped); anything else is empty.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TextList(pub Vec<String>);

/// An array of users; anything else is empty.
#[derive(Debug, Default)]
pub(crate) struct UserList(pub Vec<UserDto>);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserDto {
    #[serde(rename = "Id")]
    id: Text,
    #[serde(rename = "Name")]
    name: Text,
    #[serde(rename = "ConnectUserName")]
    connect_user_name: Text,
    #[serde(rename = "Policy", deserialize_with = "object_or_default")]
    policy: PolicyDto,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PolicyDto {
    #[serde(rename = "EnableAllFolders")]
    enable_all_folders: Flag,
    #[serde(rename = "EnabledFolders")]
    enabled_folders: TextList,
    #[serde(rename = "EnableContentDownloading")]
    enable_content_downloading: Flag,
    #[serde(rename = "EnableVideoPlaybackTranscoding")]
    enable_video_playback_transcoding: Flag,
    #[serde(rename = "IsDisabled")]
    is_disabled: Flag,
    #[serde(rename = "IsAdministrator")]
    is_administrator: Flag,
    #[serde(rename = "EnableAllDevices")]
    enable_all_devices: Flag,
    #[serde(rename = "EnabledDevices")]
    enabled_devices: TextList,
}

/// Emby's paged `/Users/Query`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserPage {
    #[serde(rename = "Items")]
    pub items: UserList,
    #[serde(rename = "TotalRecordCount")]
    pub total: Text,
}

impl UserDto {
    pub(crate) fn into_user(self) -> MediaUser {
        let p = self.policy;
        let all = p.enable_all_folders.0.unwrap_or(false);
        MediaUser {
            user_ref: UserRef::user(self.id.0.unwrap_or_default()),
            name: self.name.0.unwrap_or_default(),
            email: None,
            all_libraries: all,
            libraries: if all { Vec::new() } else { p.enabled_folders.0 },
            downloads: p.enable_content_downloading.0.unwrap_or(false),
            video_transcoding: Some(p.enable_video_playback_transcoding.0.unwrap_or(false)),
            disabled: p.is_disabled.0.unwrap_or(false),
            is_admin: p.is_administrator.0.unwrap_or(false),
            pending: false,
            all_devices: p.enable_all_devices.0.unwrap_or(true),
            enabled_devices: p.enabled_devices.0,
            connect_username: self.connect_user_name.0,
        }
    }
}

/// Any JSON value, reduced to what the readers above care about.
enum Scalar {
    Text(Option<String>),
    Bool(bool),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Text(Some(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text((!v.is_empty()).then(|| v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Scalar::deserialize(d)? {
            Scalar::Text(t) => Text(t),
            _ => Text(None),
        })
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Scalar::deserialize(d)? {
            Scalar::Bool(b) => Flag(Some(b)),
            _ => Flag(None),
        })
    }
}

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Lenient::<Items<Text>>::deserialize(d)?
            .0
            .unwrap_or_default();
        Ok(TextList(items.0.into_iter().filter_map(|t| t.0).collect()))
    }
}

impl<'de> Deserialize<'de> for UserList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Lenient::<Items<Lenient<UserDto>>>::deserialize(d)?
            .0
            .unwrap_or_default();
        Ok(UserList(items.0.into_iter().filter_map(|u| u.0).collect()))
    }
}

/// The elements of an array.
struct Items<T>(Vec<T>);

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items(Vec::new())
    }
}

/// An object (read as `T`) or an array (read as `T` too, for [`Items`]); `None` for anything
/// else, which is skipped.
struct Lenient<T>(Option<T>);

/// How a [`Lenient`] reads an object or an array; by default it skips it.
trait FromSeqOrMap<'de>: Sized {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de> FromSeqOrMap<'de> for UserDto {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        UserDto::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

impl<'de> FromSeqOrMap<'de> for PolicyDto {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        PolicyDto::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

impl<'de, T: Deserialize<'de>> FromSeqOrMap<'de> for Items<T> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(t) = seq.next_element::<T>()? {
            out.push(t);
        }
        Ok(Some(Items(out)))
    }
}

impl<'de, T: FromSeqOrMap<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: FromSeqOrMap<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or an array")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::from_map(map).map(Lenient)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::from_seq(seq).map(Lenient)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn object_or_default<'de, D: Deserializer<'de>, T: FromSeqOrMap<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Lenient::<T>::deserialize(d)?.0.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What the generic tree gave, kept here as the reference the typed reader must match.
    fn from_tree(v: &Value) -> MediaUser {
        let s = crate::mediabrowser::s;
        let b = |v: &Value| v.as_bool().unwrap_or(false);
        let p = &v["Policy"];
        let all = b(&p["EnableAllFolders"]);
        let strs = |a: &Value| -> Vec<String> {
            a.as_array()
                .map(|x| x.iter().filter_map(s).collect())
                .unwrap_or_default()
        };
        MediaUser {
            user_ref: UserRef::user(s(&v["Id"]).unwrap_or_default()),
            name: s(&v["Name"]).unwrap_or_default(),
            email: None,
            all_libraries: all,
            libraries: if all {
                Vec::new()
            } else {
                strs(&p["EnabledFolders"])
            },
            downloads: b(&p["EnableContentDownloading"]),
            video_transcoding: Some(b(&p["EnableVideoPlaybackTranscoding"])),
            disabled: b(&p["IsDisabled"]),
            is_admin: b(&p["IsAdministrator"]),
            pending: false,
            all_devices: p["EnableAllDevices"].as_bool().unwrap_or(true),
            enabled_devices: strs(&p["EnabledDevices"]),
            connect_username: s(&v["ConnectUserName"]),
        }
    }

    #[test]
    fn the_typed_user_list_reads_what_the_json_tree_read_odd_values_included() {
        let list = json!([
            {"Name": "ann", "Id": "a1", "ServerId": "s", "HasPassword": true,
             "Configuration": {"AudioLanguagePreference": "en", "GroupedFolders": []},
             "Policy": {"IsAdministrator": false, "IsDisabled": true, "EnableAllFolders": false,
                        "EnabledFolders": ["f1", "", 7, null, {"x": 1}], "EnableContentDownloading": true,
                        "EnableVideoPlaybackTranscoding": true, "EnableAllDevices": false,
                        "EnabledDevices": ["d1"], "BlockedTags": [], "AccessSchedules": [{"DayOfWeek": "Sunday"}]}},
            {"Name": "", "Id": 42, "ConnectUserName": "plexfan", "Policy": null},
            {"Name": "cy", "Id": "c3", "Policy": {"EnableAllFolders": "yes", "EnableAllDevices": 1,
                        "EnabledFolders": "f9", "IsAdministrator": true}},
            {"Name": "di", "Id": "d4", "Policy": {"EnableAllFolders": true, "EnabledFolders": ["ignored"]}},
            "not a user",
            {"Name": "ed", "Id": 1.5, "Policy": [1, 2]}
        ]);
        let text = list.to_string();
        let typed: UserList = serde_json::from_str(&text).expect("parses");
        let typed: Vec<MediaUser> = typed.0.into_iter().map(UserDto::into_user).collect();
        let tree: Vec<MediaUser> = list
            .as_array()
            .expect("array")
            .iter()
            .filter(|u| u.is_object())
            .map(from_tree)
            .collect();
        assert_eq!(typed, tree);
        assert_eq!(typed[0].libraries, vec!["f1", "7"]);
    }

    #[test]
    fn a_list_that_is_not_an_array_reads_as_empty_and_bad_json_is_an_error() {
        let v: UserList = serde_json::from_str(r#"{"Items": []}"#).expect("parses");
        assert!(v.0.is_empty());
        let page: UserPage =
            serde_json::from_str(r#"{"Items": [{"Id": "x", "Name": "x"}], "TotalRecordCount": 9}"#)
                .expect("parses");
        assert_eq!(
            (page.items.0.len(), page.total.0.as_deref()),
            (1, Some("9"))
        );
        assert!(serde_json::from_str::<UserList>("[{").is_err());
    }
}
