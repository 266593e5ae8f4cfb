//! plex.tv share/friend updates and removals (P18-P22).

use super::*;

// Updates and removals (P18-P22) ---------------------------------------------------

pub(super) fn find_share(w: &PlexWorld, sid: &str, owner: bool) -> Option<usize> {
    let sid: i64 = sid.parse().ok()?;
    owner.then_some(())?;
    w.shares.iter().position(|s| s.id == sid)
}

/// Apply a library change unless the share is still pending (ref §1.2 notes on P11/P12).
pub(super) fn set_sections(
    w: &mut PlexWorld,
    idx: usize,
    ids_: Option<Vec<i64>>,
) -> Result<(), String> {
    let Some(ids_) = ids_ else { return Ok(()) };
    let mid = w.shares[idx].machine_id.clone();
    if let Some(srv) = w.server(&mid)
        && let Some(bad) = ids_.iter().find(|id| srv.section_by_global(**id).is_none())
    {
        return Err(format!("Invalid library section id {bad}"));
    }
    if w.ignore_pending_library_updates && w.shares[idx].accepted_at.is_none() {
        return Ok(());
    }
    let sh = &mut w.shares[idx];
    sh.all_libraries = ids_.is_empty();
    sh.section_ids = ids_;
    Ok(())
}

pub(super) async fn v1_update_share(
    State(st): State<St>,
    a: Authed,
    Path((mid, sid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let path = a.uri.path().to_string();
    let Some(v) = parse_json(&body) else {
        return v1_err(&path, StatusCode::BAD_REQUEST, "Bad Request");
    };
    let mut w = lock(&st.world);
    let owner = a.is_owner(&w);
    let Some(idx) = find_share(&w, &sid, owner).filter(|i| w.shares[*i].machine_id == mid) else {
        return v1_err(&path, StatusCode::NOT_FOUND, "Not Found");
    };
    let ss = v.get("shared_server");
    let ids_ = ss
        .and_then(|s| s.get("library_section_ids"))
        .map(|x| section_ids(Some(x)));
    if let Err(m) = set_sections(&mut w, idx, ids_) {
        return v1_err(&path, StatusCode::UNPROCESSABLE_ENTITY, &m);
    }
    if let Some(s) = v.get("sharing_settings") {
        let cur = w.shares[idx].settings.clone();
        w.shares[idx].settings = parse_settings(Some(s), &cur);
    }
    let sh = w.shares[idx].clone();
    xml(
        StatusCode::OK,
        container(&w)
            .a("size", 1usize)
            .child(v1_share_el(&w, &sh))
            .to_xml(),
    )
}

pub(super) async fn v2_update_share(
    State(st): State<St>,
    a: Authed,
    Path(sid): Path<String>,
    body: Bytes,
) -> Response {
    let path = a.uri.path().to_string();
    let Some(v) = parse_json(&body) else {
        return v1_err(&path, StatusCode::BAD_REQUEST, "Bad Request");
    };
    let mut w = lock(&st.world);
    let owner = a.is_owner(&w);
    let Some(idx) = find_share(&w, &sid, owner) else {
        return v1_err(
            &path,
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        );
    };
    let ids_ = v.get("librarySectionIds").map(|x| section_ids(Some(x)));
    if let Err(m) = set_sections(&mut w, idx, ids_) {
        return v1_err(&path, StatusCode::UNPROCESSABLE_ENTITY, &m);
    }
    if let Some(s) = v.get("settings") {
        let cur = w.shares[idx].settings.clone();
        w.shares[idx].settings = parse_settings(Some(s), &cur);
    }
    let sh = w.shares[idx].clone();
    let body = v2_share_json(&w, &sh);
    drop(w);
    v2_reply(&a, StatusCode::OK, "sharedServer", body)
}

pub(super) fn remove_share(w: &mut PlexWorld, idx: usize) {
    let sh = w.shares.remove(idx);
    if let Some(uid) = sh.invited_id {
        w.drop_sessions(&sh.machine_id, uid, "share_removed");
    }
}

pub(super) async fn v1_delete_share(
    State(st): State<St>,
    a: Authed,
    Path((mid, sid)): Path<(String, String)>,
) -> Response {
    let mut w = lock(&st.world);
    let owner = a.is_owner(&w);
    match find_share(&w, &sid, owner).filter(|i| w.shares[*i].machine_id == mid) {
        None => v1_err(a.uri.path(), StatusCode::NOT_FOUND, "Not Found"),
        Some(idx) => {
            remove_share(&mut w, idx);
            StatusCode::OK.into_response()
        }
    }
}

pub(super) async fn v2_delete_share(
    State(st): State<St>,
    a: Authed,
    Path(sid): Path<String>,
) -> Response {
    let mut w = lock(&st.world);
    let owner = a.is_owner(&w);
    match find_share(&w, &sid, owner) {
        None => v1_err(
            a.uri.path(),
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        ),
        Some(idx) => {
            remove_share(&mut w, idx);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// P20: friend-level permissions from query parameters; applied to the friend's shares.
pub(super) async fn v2_update_friend(
    State(st): State<St>,
    a: Authed,
    Path(uid): Path<String>,
) -> Response {
    let q = query_map(&a.uri);
    let mut w = lock(&st.world);
    let uid: i64 = uid.parse().unwrap_or(-1);
    if !a.is_owner(&w) || !w.friends.contains_key(&uid) {
        return v1_err(
            a.uri.path(),
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        );
    }
    let qv: Value = q
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let cur = w.friends.get(&uid).cloned().unwrap_or_default();
    let new = parse_settings(Some(&qv), &cur);
    w.friends.insert(uid, new.clone());
    for sh in w.shares.iter_mut().filter(|s| s.invited_id == Some(uid)) {
        sh.settings = new.clone();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// P22: drop the friendship and every share (and pending invite) with that user.
pub(super) async fn v2_remove_friend(
    State(st): State<St>,
    a: Authed,
    Path(uid): Path<String>,
) -> Response {
    let mut w = lock(&st.world);
    let uid: i64 = uid.parse().unwrap_or(-1);
    let known = w.friends.contains_key(&uid) || w.shares.iter().any(|s| s.invited_id == Some(uid));
    if !a.is_owner(&w) || !known {
        return v1_err(
            a.uri.path(),
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        );
    }
    w.friends.remove(&uid);
    while let Some(idx) = w.shares.iter().position(|s| s.invited_id == Some(uid)) {
        remove_share(&mut w, idx);
    }
    StatusCode::NO_CONTENT.into_response()
}
