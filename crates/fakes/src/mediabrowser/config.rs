//! `/System/Configuration`: the server configuration (jellyfin/jellyfin
//! `Jellyfin.Api/Controllers/ConfigurationController.cs`, `MediaBrowser.Model/Configuration/
//! ServerConfiguration.cs`). Any signed-in caller reads it; only an administrator replaces it
//! (204). The fake keeps a subset of the fields; of those, `ServerName` and (Jellyfin 10.11+)
//! `EnableLegacyAuthorization` take effect.

use super::*;

/// The fields the fake answers with, at the servers' defaults.
pub(crate) fn defaults() -> Value {
    json!({
        "ServerName": "", "UICulture": "en-US", "MetadataCountryCode": "US",
        "PreferredMetadataLanguage": "en", "IsStartupWizardCompleted": true,
        "EnableMetrics": false, "QuickConnectAvailable": true, "LibraryMonitorDelay": 60,
        "MinResumePct": 5, "MaxResumePct": 90, "MinResumeDurationSeconds": 300,
        "RemoteClientBitrateLimit": 0, "EnableFolderView": false, "SortRemoveWords": ["the", "a", "an"],
        "LocalNetworkAddresses": [], "CodecsUsed": [], "PathSubstitutions": [],
        "EnableLegacyAuthorization": true,
    })
}

fn current(st: &MbState) -> Value {
    let mut v = defaults();
    v["ServerName"] = json!(st.server_name);
    if st.kind.jf_at_least(10, 11) {
        v["EnableLegacyAuthorization"] = json!(st.legacy_auth);
    } else if let Some(m) = v.as_object_mut() {
        // The switch exists from Jellyfin 10.11 (ref §2.1); Emby never had it.
        m.remove("EnableLegacyAuthorization");
    }
    v
}

pub(super) async fn get(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, false);
    Json(current(&st)).into_response()
}

pub(super) async fn update(State(s): State<St>, h: HeaderMap, u: Uri, body: Bytes) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let Some(Value::Object(b)) = parse_json(&body) else {
        return problem(json!({"configuration": ["The configuration field is required."]}));
    };
    if let Some(name) = b.get("ServerName").and_then(Value::as_str)
        && !name.is_empty()
    {
        st.server_name = name.to_string();
    }
    if st.kind.jf_at_least(10, 11)
        && let Some(on) = b.get("EnableLegacyAuthorization").and_then(Value::as_bool)
    {
        st.legacy_auth = on;
    }
    void(&st)
}
