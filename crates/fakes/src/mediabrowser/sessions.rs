//! Jellyfin/Emby sessions, devices, API keys and Emby-only routes (ref §2.2 J15-J20, §3.2 E10-E15).

use super::*;

// Sessions and devices ----------------------------------------------------------------

/// J15/E10: bare array incl. idle sessions; a user token sees only its own.
pub(super) async fn sessions(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    let p = guard!(st, h, u, false);
    let q = query_map(&u);
    let dev = q_get(&q, "deviceId").map(str::to_string);
    let list: Vec<Value> = st
        .sessions
        .iter()
        .filter(|x| p.admin() || matches!(&p, Principal::User { id, .. } if *id == x.user_id))
        .filter(|x| dev.as_ref().is_none_or(|d| *d == x.device_id))
        .map(|x| st.session_dto(x))
        .collect();
    Json(Value::Array(list)).into_response()
}

pub(super) fn session_idx(st: &MbState, id: &str) -> Option<usize> {
    let id = ids::normalize_guid(id)?;
    st.sessions.iter().position(|x| x.id == id)
}

/// J16/E11: unknown session → 404; `Stop` ends playback (the client stays connected).
pub(super) async fn playing_command(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path((id, cmd)): Path<(String, String)>,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, false);
    let Some(i) = session_idx(&st, &id) else {
        return text(StatusCode::NOT_FOUND, "Session not found");
    };
    st.sessions[i].commands.push(cmd.clone());
    if cmd.eq_ignore_ascii_case("Stop")
        && let Some(p) = st.sessions[i].playing.take()
    {
        let sess = st.sessions[i].clone();
        st.stopped.push(crate::sessions::StoppedSession {
            id: sess.id,
            user: sess.user_name,
            title: p.title,
            by: "stop_command".into(),
            message: sess.messages.last().map(|m| m.text.clone()),
            at: ids::now_secs(),
        });
    }
    void(&st)
}

/// J18: other remote commands are recorded on the session; unknown session → 404.
pub(super) async fn general_command(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path((id, cmd)): Path<(String, String)>,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, false);
    let Some(i) = session_idx(&st, &id) else {
        return text(StatusCode::NOT_FOUND, "Session not found");
    };
    st.sessions[i].commands.push(cmd);
    void(&st)
}

/// J18 `POST /Sessions/{id}/Command` with a GeneralCommand body `{Name, Arguments}`
/// (jellyfin-apiclient-python `command()`); `DisplayMessage` carries `Header`, `Text` and
/// `TimeoutMs` in `Arguments` and is recorded as a message.
pub(super) async fn general_command_body(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, false);
    let Some(i) = session_idx(&st, &id) else {
        return text(StatusCode::NOT_FOUND, "Session not found");
    };
    let Some(name) = parse_json(&body)
        .as_ref()
        .and_then(|v| v.get("Name").and_then(Value::as_str).map(str::to_string))
    else {
        return problem(json!({"Name": ["The Name field is required."]}));
    };
    if name.eq_ignore_ascii_case("DisplayMessage") {
        let args = parse_json(&body)
            .and_then(|v| v.get("Arguments").cloned())
            .unwrap_or(Value::Null);
        let arg = |k: &str| {
            args.as_object()
                .and_then(|m| m.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string)
        };
        if let Some(text) = arg("Text") {
            st.sessions[i].messages.push(MbMessage {
                header: arg("Header"),
                text,
                timeout_ms: arg("TimeoutMs").and_then(|t| t.parse().ok()),
            });
        }
    }
    st.sessions[i].commands.push(name);
    void(&st)
}

/// J17: Jellyfin reads a JSON body; E12: Emby reads query parameters (ref §3.2 E12).
pub(super) async fn message(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, false);
    let Some(i) = session_idx(&st, &id) else {
        return text(StatusCode::NOT_FOUND, "Session not found");
    };
    let msg = if st.kind.is_emby() {
        let q = query_map(&u);
        q_get(&q, "Text").map(|t| MbMessage {
            header: q_get(&q, "Header").map(str::to_string),
            text: t.to_string(),
            timeout_ms: q_get(&q, "TimeoutMs").and_then(|v| v.parse().ok()),
        })
    } else {
        parse_json(&body).and_then(|v| {
            v.get("Text").and_then(Value::as_str).map(|t| MbMessage {
                // Empty Header becomes "Message from Server" (ref §2.2 J17).
                header: Some(
                    v.get("Header")
                        .and_then(Value::as_str)
                        .filter(|x| !x.is_empty())
                        .unwrap_or("Message from Server")
                        .to_string(),
                ),
                text: t.to_string(),
                timeout_ms: v.get("TimeoutMs").and_then(Value::as_i64),
            })
        })
    };
    let Some(msg) = msg else {
        return if st.kind.is_emby() {
            processing_error(StatusCode::BAD_REQUEST)
        } else {
            problem(json!({"Text": ["The Text field is required."]}))
        };
    };
    st.sessions[i].messages.push(msg);
    void(&st)
}

pub(super) async fn devices(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    let q = query_map(&u);
    let uid = q_get(&q, "userId").and_then(ids::normalize_guid);
    let items: Vec<Value> = st
        .devices
        .iter()
        .filter(|d| uid.as_ref().is_none_or(|x| *x == d.user_id))
        .map(|d| st.device_dto(d))
        .collect();
    Json(json!({ "Items": items, "TotalRecordCount": items.len(), "StartIndex": 0 }))
        .into_response()
}

/// J20/E13: deleting a device logs it out. Jellyfin ≤10.11 one id, 404 unknown;
/// 12.0 several ids, 400 if any is unknown (ref §2.2 J20). Emby addresses `Id`.
pub(super) async fn delete_devices(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let wanted = query_all(&u, "id");
    let resolve = |st: &MbState, w: &str| -> Option<String> {
        st.devices
            .iter()
            .find(|d| d.id == w || (st.kind.is_emby() && d.internal_id.to_string() == w))
            .map(|d| d.id.clone())
    };
    let found: Vec<Option<String>> = wanted.iter().map(|w| resolve(&st, w)).collect();
    if wanted.is_empty() {
        return problem(json!({"id": ["The id field is required."]}));
    }
    if st.kind.jf_at_least(12, 0) {
        if found.iter().any(Option::is_none) {
            return processing_error(StatusCode::BAD_REQUEST);
        }
    } else if wanted.len() > 1 || found[0].is_none() {
        return processing_error(StatusCode::NOT_FOUND);
    }
    for dev in found.into_iter().flatten() {
        st.devices.retain(|d| d.id != dev);
        st.tokens.retain(|_, (_, d)| *d != dev);
        st.drop_sessions("device_deleted", |x| x.device_id == dev);
    }
    void(&st)
}

pub(super) async fn list_keys(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    let items: Vec<Value> = st
        .api_keys
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"Id": i + 1, "AccessToken": k.token, "AppName": k.app, "DateCreated": k.created, "IsActive": true}))
        .collect();
    Json(json!({ "Items": items, "TotalRecordCount": items.len(), "StartIndex": 0 }))
        .into_response()
}

pub(super) async fn create_key(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let q = query_map(&u);
    let app = q_get(&q, "app").unwrap_or("app").to_string();
    st.api_keys.push(crate::mb_state::MbApiKey {
        token: ids::hex(32),
        app,
        created: ids::iso_now(),
    });
    void(&st)
}

pub(super) async fn revoke_key(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(key): Path<String>,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    st.api_keys.retain(|k| k.token != key);
    void(&st)
}

// Emby-only ---------------------------------------------------------------------------

pub(super) async fn connect_link(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let q = query_map(&u);
    let Some(name) = q_get(&q, "ConnectUsername").map(str::to_string) else {
        return processing_error(StatusCode::BAD_REQUEST);
    };
    if let Some(user) = st.users.iter_mut().find(|x| x.id == id) {
        user.connect_username = Some(name.clone());
    }
    Json(json!({ "IsPending": true, "IsNewUserInvitation": name.contains('@'), "GuestDisplayName": name })).into_response()
}

pub(super) async fn connect_unlink(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Some(user) = st.users.iter_mut().find(|x| x.id == id) {
        user.connect_username = None;
    }
    void(&st)
}

/// E15 (UNCERTAIN on 4.8, ref §3.2): older clients read Premiere status here.
pub(super) async fn security_info(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, false);
    Json(json!({ "SupporterKey": "", "IsMBSupporter": true })).into_response()
}
