//! Jellyfin/Emby users: list, create, policy, password, rename, delete, login (ref §2.2 J3-J10, §3.2 E2-E7).

use super::*;

// Users ------------------------------------------------------------------------------------

pub(super) fn visible_users(
    st: &MbState,
    p: &Principal,
    q: &std::collections::HashMap<String, String>,
) -> Vec<Value> {
    let want = |k: &str| q_get(q, k).map(|v| v.eq_ignore_ascii_case("true"));
    st.users
        .iter()
        .filter(|u| p.admin() || matches!(p, Principal::User { id, .. } if *id == u.id))
        .filter(|u| want("isHidden").is_none_or(|b| u.flag("IsHidden") == b))
        .filter(|u| want("isDisabled").is_none_or(|b| u.flag("IsDisabled") == b))
        .map(|u| st.user_dto(u))
        .collect()
}

/// J3: a bare array, no paging (ref §2.2). Emby's legacy `/Users` is the same shape.
pub(super) async fn list_users(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    let p = guard!(st, h, u, false);
    Json(Value::Array(visible_users(&st, &p, &query_map(&u)))).into_response()
}

/// E2: `{Items, TotalRecordCount}` with `StartIndex`/`Limit` (ref §3.2).
pub(super) async fn users_query(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    let p = guard!(st, h, u, false);
    let q = query_map(&u);
    let all = visible_users(&st, &p, &q);
    let start: usize = q_get(&q, "StartIndex")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: usize = q_get(&q, "Limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    Json(json!({ "Items": page, "TotalRecordCount": all.len() })).into_response()
}

pub(super) async fn get_user(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
) -> Response {
    let st = lock(&s.state);
    let p = guard!(st, h, u, false);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if !p.admin() && !matches!(&p, Principal::User { id: me, .. } if *me == id) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match st.user(&id) {
        Some(user) => Json(st.user_dto(user)).into_response(),
        None => user_not_found(st.kind),
    }
}

/// Names Jellyfin accepts (ref §2.2 J5).
pub(super) fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n != "."
        && n != ".."
        && n.trim() == n
        && n.chars()
            .all(|c| c.is_alphanumeric() || " -_'.@+".contains(c))
}

pub(super) async fn new_user(State(s): State<St>, h: HeaderMap, u: Uri, body: Bytes) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["The JSON value could not be converted."]}));
    };
    let Some(name) = v.get("Name").and_then(Value::as_str).map(str::to_string) else {
        return problem(json!({"Name": ["The Name field is required."]}));
    };
    if !valid_name(&name) || st.users.iter().any(|x| x.name.eq_ignore_ascii_case(&name)) {
        // ArgumentException → 400 text/plain (ref §2.2 J5, §2.4).
        return processing_error(StatusCode::BAD_REQUEST);
    }
    let mut seed = MbUserSeed::new(&name);
    if st.kind.is_emby() {
        // Emby ignores any password here; it arrives via /Users/{Id}/Password (ref §3.3.2).
        let copy_from = v
            .get("CopyFromUserId")
            .and_then(Value::as_str)
            .and_then(|id| st.user(id))
            .cloned();
        let opts: Vec<String> = v
            .get("UserCopyOptions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut user = st.add_user(seed);
        if let Some(tpl) = copy_from {
            if opts.iter().any(|o| o == "UserPolicy") {
                user.policy = tpl.policy.clone();
            }
            if opts.iter().any(|o| o == "UserConfiguration") {
                user.configuration = tpl.configuration.clone();
            }
            if let Some(x) = st.users.iter_mut().find(|x| x.id == user.id) {
                *x = user.clone();
            }
        }
        return Json(st.user_dto(&user)).into_response();
    }
    seed.password = v
        .get("Password")
        .and_then(Value::as_str)
        .map(str::to_string);
    let user = st.add_user(seed);
    Json(st.user_dto(&user)).into_response()
}

/// Type check of a posted policy against the defaults' JSON types.
pub(super) fn type_errors(
    defaults: &Value,
    body: &Map<String, Value>,
    jellyfin: bool,
) -> Map<String, Value> {
    let mut errs = Map::new();
    for (k, v) in body {
        let Some(d) = defaults.get(k) else { continue };
        let ok = match (d, v) {
            (Value::Bool(_), Value::Bool(_)) | (Value::Number(_), Value::Number(_)) => true,
            (Value::String(_), Value::String(_)) | (Value::Array(_), Value::Array(_)) => true,
            // Arrays must be `[]`, never null (ref §2.3: jfa-go de-nulls before posting).
            (Value::Array(_), Value::Null) => !jellyfin,
            (Value::Null, _) | (Value::String(_), Value::Null) => true,
            _ => false,
        };
        if !ok {
            errs.insert(
                k.clone(),
                json!([format!("The JSON value could not be converted for {k}.")]),
            );
        }
    }
    errs
}

/// J6/E6: the body **replaces** the policy; fields it omits take the server's
/// defaults (UserPolicy is constructed fresh before binding).
pub(super) async fn set_policy(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(Value::Object(b)) = parse_json(&body) else {
        return problem(json!({"policy": ["The policy field is required."]}));
    };
    let defaults = st.default_policy();
    let jellyfin = !st.kind.is_emby();
    let mut errs = type_errors(&defaults, &b, jellyfin);
    if st.kind.jf_at_least(10, 9) {
        // 10.9+: provider ids are required non-empty (ref §2.2 J6, §2.5.4).
        for k in ["AuthenticationProviderId", "PasswordResetProviderId"] {
            if b.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                errs.insert(k.into(), json!([format!("The {k} field is required.")]));
            }
        }
    }
    if !errs.is_empty() {
        return problem(Value::Object(errs));
    }
    let new = merge_known(&defaults, &b);
    let flag = |k: &str| new.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("IsAdministrator") && flag("IsDisabled") {
        return text(StatusCode::FORBIDDEN, "Administrators cannot be disabled.");
    }
    let other_admins = st
        .users
        .iter()
        .filter(|x| x.id != id && x.flag("IsAdministrator"))
        .count();
    let was_admin = st.user(&id).is_some_and(|x| x.flag("IsAdministrator"));
    if was_admin && !flag("IsAdministrator") && other_admins == 0 {
        return text(
            StatusCode::FORBIDDEN,
            "There must be at least one user in the system with administrative access.",
        );
    }
    let disable = flag("IsDisabled");
    if let Some(user) = st.users.iter_mut().find(|x| x.id == id) {
        user.policy = new;
    }
    if disable {
        // Disabling revokes the user's tokens and logs active clients out (ref §2.2 J9).
        st.revoke_user(&id, "user_disabled");
    }
    void(&st)
}

pub(super) async fn delete_user(
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
    let admins = st
        .users
        .iter()
        .filter(|x| x.flag("IsAdministrator"))
        .count();
    if st.users.len() == 1 {
        return processing_error(StatusCode::INTERNAL_SERVER_ERROR);
    }
    if st.user(&id).is_some_and(|x| x.flag("IsAdministrator")) && admins == 1 {
        return processing_error(StatusCode::BAD_REQUEST);
    }
    st.users.retain(|x| x.id != id);
    st.revoke_user(&id, "user_deleted");
    void(&st)
}

pub(super) fn apply_password(st: &mut MbState, id: &str, v: &Value) -> Response {
    let reset = v
        .get("ResetPassword")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let new_pw = v.get("NewPw").and_then(Value::as_str).map(str::to_string);
    if let Some(user) = st.users.iter_mut().find(|x| x.id == id) {
        user.password = if reset {
            None
        } else {
            new_pw.filter(|p| !p.is_empty())
        };
    }
    // Changing a password revokes that user's other tokens (ref §2.2 J7).
    st.tokens.retain(|_, (u, _)| u != id);
    void(st)
}

pub(super) async fn password_legacy(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["Invalid JSON."]}));
    };
    apply_password(&mut st, &id, &v)
}

/// 10.9+ query form `POST /Users/Password?userId=` (ref §2.2 J7); absent before 10.9.
pub(super) async fn password_query(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    if !st.kind.jf_at_least(10, 9) {
        return StatusCode::NOT_FOUND.into_response();
    }
    guard!(st, h, u, true);
    let q = query_map(&u);
    let id = match path_user(&st, q_get(&q, "userId").unwrap_or("")) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["Invalid JSON."]}));
    };
    apply_password(&mut st, &id, &v)
}

pub(super) fn apply_user_update(st: &mut MbState, id: &str, v: &Value) -> Response {
    if let Some(name) = v.get("Name").and_then(Value::as_str) {
        if !valid_name(name)
            || st
                .users
                .iter()
                .any(|x| x.id != id && x.name.eq_ignore_ascii_case(name))
        {
            return processing_error(StatusCode::BAD_REQUEST);
        }
        if let Some(user) = st.users.iter_mut().find(|x| x.id == id) {
            user.name = name.to_string();
        }
    }
    if let Some(c @ Value::Object(_)) = v.get("Configuration")
        && let Some(user) = st.users.iter_mut().find(|x| x.id == id)
    {
        user.configuration = c.clone();
    }
    void(st)
}

/// J8 10.9+ `POST /Users?userId=`: only `Name` and `Configuration` are applied.
pub(super) async fn update_user_query(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    if !st.kind.jf_at_least(10, 9) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    guard!(st, h, u, true);
    let q = query_map(&u);
    let id = match path_user(&st, q_get(&q, "userId").unwrap_or("")) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["Invalid JSON."]}));
    };
    apply_user_update(&mut st, &id, &v)
}

pub(super) async fn update_user_legacy(
    State(s): State<St>,
    h: HeaderMap,
    u: Uri,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut st = lock(&s.state);
    guard!(st, h, u, true);
    let id = match path_user(&st, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["Invalid JSON."]}));
    };
    apply_user_update(&mut st, &id, &v)
}

/// Username/password login. Needs the client part of the MediaBrowser header; checks
/// disabled (403), device restriction (403), `MaxActiveSessions` (403, ref §2.3).
pub(super) async fn authenticate(State(s): State<St>, h: HeaderMap, body: Bytes) -> Response {
    let mut st = lock(&s.state);
    let legacy = legacy_allowed(&st);
    let device_id = auth_param(&h, "DeviceId", legacy);
    let device = auth_param(&h, "Device", legacy).unwrap_or_else(|| "Unknown".into());
    let client = auth_param(&h, "Client", legacy).unwrap_or_else(|| "Unknown".into());
    let Some(device_id) = device_id else {
        return processing_error(StatusCode::BAD_REQUEST);
    };
    let Some(v) = parse_json(&body) else {
        return problem(json!({"$": ["Invalid JSON."]}));
    };
    let name = v.get("Username").and_then(Value::as_str).unwrap_or("");
    let pw = v.get("Pw").and_then(Value::as_str).unwrap_or("");
    let Some(user) = st
        .users
        .iter()
        .find(|x| x.name.eq_ignore_ascii_case(name))
        .cloned()
    else {
        return text(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password entered.",
        );
    };
    if user.password.as_deref().unwrap_or("") != pw {
        return text(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password entered.",
        );
    }
    if user.flag("IsDisabled") {
        return text(
            StatusCode::FORBIDDEN,
            &format!("The user {} is disabled.", user.name),
        );
    }
    let known_device = st
        .devices
        .iter()
        .any(|d| d.id == device_id && d.user_id == user.id);
    let enabled: Vec<String> = user.policy["EnabledDevices"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !user.flag("EnableAllDevices") && !enabled.contains(&device_id) && !known_device {
        return text(
            StatusCode::FORBIDDEN,
            "User is not allowed access from this device.",
        );
    }
    let max = user
        .policy
        .get("MaxActiveSessions")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let active = st.sessions.iter().filter(|x| x.user_id == user.id).count() as i64;
    if max > 0 && active >= max {
        return text(
            StatusCode::FORBIDDEN,
            "User is at their maximum number of sessions.",
        );
    }
    st.register_device(&user.id, &device_id, &device, &client, "127.0.0.1");
    let token = ids::hex(32);
    st.tokens
        .insert(token.clone(), (user.id.clone(), device_id.clone()));
    let now = ids::iso_now();
    if let Some(x) = st.users.iter_mut().find(|x| x.id == user.id) {
        x.last_login = Some(now.clone());
    }
    st.sessions
        .retain(|x| !(x.device_id == device_id && x.playing.is_none()));
    let sid = ids::hex(32);
    st.sessions.push(crate::mb_state::MbSession {
        id: sid.clone(),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        device_id,
        device_name: device,
        client,
        ip: "127.0.0.1".into(),
        item_id: String::new(),
        playing: None,
        messages: Vec::new(),
        commands: Vec::new(),
        last_activity: now,
    });
    let session = st
        .sessions
        .last()
        .map(|x| st.session_dto(x))
        .unwrap_or(Value::Null);
    let user = st
        .users
        .iter()
        .find(|x| x.id == user.id)
        .map(|x| st.user_dto(x))
        .unwrap_or(Value::Null);
    Json(json!({ "User": user, "SessionInfo": session, "AccessToken": token, "ServerId": st.server_id })).into_response()
}
