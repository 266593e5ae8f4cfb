//! plex.tv control API: seed accounts/friends, accept invites, read state.

use super::*;
use axum::routing::{get, post, put};

// Control API --------------------------------------------------------------------------

pub(crate) fn seed_friend(w: &mut PlexWorld, seed: PlexFriendSeed) -> crate::Result<PlexAccount> {
    let acct = match w.find_account(&seed.email).cloned() {
        Some(a) => a,
        None => w.register(PlexAccountSeed {
            username: seed.username.clone(),
            email: seed.email.clone(),
            id: None,
            token: None,
            home: false,
        }),
    };
    for (server, titles) in &seed.shares {
        let srv = w
            .server_by_name_or_id(server)
            .cloned()
            .ok_or_else(|| crate::FakeError::NotFound(format!("server {server}")))?;
        let mut ids_ = Vec::new();
        for t in titles {
            let sec = srv
                .sections
                .iter()
                .find(|s| s.title.eq_ignore_ascii_case(t))
                .ok_or_else(|| crate::FakeError::NotFound(format!("library {t} on {server}")))?;
            ids_.push(sec.global_id);
        }
        let n = NewShare {
            machine_id: srv.machine_id.clone(),
            invitee: Invitee::Id(acct.id),
            section_ids: ids_,
            settings: seed.settings.clone(),
        };
        let sh = create_share(w, n).map_err(|(_, m)| crate::FakeError::Invalid(m))?;
        if !seed.pending {
            w.accept(sh.id);
        }
    }
    if !seed.pending {
        w.friends.insert(acct.id, seed.settings.clone());
    }
    Ok(acct)
}

pub(crate) fn state_json(w: &PlexWorld) -> Value {
    let mut v = serde_json::to_value(w).unwrap_or(Value::Null);
    // Convenience view: per user, which libraries (titles) they can reach on which server.
    let access: Vec<Value> = w
        .shares
        .iter()
        .map(|sh| {
            let srv = w.server(&sh.machine_id);
            let libs: Vec<String> = srv
                .map(|s| {
                    s.sections
                        .iter()
                        .filter(|sec| sh.all_libraries || sh.section_ids.contains(&sec.global_id))
                        .map(|sec| sec.title.clone())
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "share_id": sh.id, "server": srv.map(|s| s.name.clone()), "machine_id": sh.machine_id,
                "user_id": sh.invited_id, "email": sh.invited_email,
                "username": sh.invited_id.and_then(|i| w.account(i)).map(|a| a.username.clone()),
                "accepted": sh.accepted_at.is_some(), "libraries": libs,
                "allow_sync": sh.settings.allow_sync, "allow_channels": sh.settings.allow_channels,
            })
        })
        .collect();
    v["access"] = Value::Array(access);
    v
}

pub(super) fn control_routes(world: Shared) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/account", put(c_account))
        .route("/accounts", post(c_register))
        .route("/friends", post(c_friend))
        .route("/invites/{id}/accept", post(c_accept))
        .with_state(St { world })
}

pub(super) async fn c_state(State(st): State<St>) -> Json<Value> {
    Json(state_json(&lock(&st.world)))
}

/// `{"plex_pass": bool, "share_limit": n|null, "ignore_pending_library_updates": bool, "token": "..."}`
pub(super) async fn c_account(State(st): State<St>, Json(v): Json<Value>) -> Response {
    let mut w = lock(&st.world);
    if let Some(b) = v.get("plex_pass").and_then(Value::as_bool) {
        w.owner.plex_pass = b;
    }
    if let Some(l) = v.get("share_limit") {
        w.share_limit = l.as_u64().map(|n| n as usize);
    }
    if let Some(b) = v
        .get("ignore_pending_library_updates")
        .and_then(Value::as_bool)
    {
        w.ignore_pending_library_updates = b;
    }
    if let Some(t) = v.get("token").and_then(Value::as_str) {
        w.owner.token = t.to_string();
    }
    Json(serde_json::to_value(&w.owner).unwrap_or(Value::Null)).into_response()
}

pub(super) async fn c_register(
    State(st): State<St>,
    Json(seed): Json<PlexAccountSeed>,
) -> Response {
    let acct = lock(&st.world).register(seed);
    (StatusCode::CREATED, Json(acct)).into_response()
}

pub(super) async fn c_friend(State(st): State<St>, Json(seed): Json<PlexFriendSeed>) -> Response {
    match seed_friend(&mut lock(&st.world), seed) {
        Ok(a) => (StatusCode::CREATED, Json(a)).into_response(),
        Err(e) => control::bad(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

pub(super) async fn c_accept(State(st): State<St>, Path(id): Path<i64>) -> Response {
    match lock(&st.world).accept(id) {
        Some(sh) => Json(sh).into_response(),
        None => control::bad(StatusCode::NOT_FOUND, format!("no share {id}")),
    }
}
