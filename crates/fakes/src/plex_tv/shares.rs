//! plex.tv share rendering, creation (P11/P12) and listing (P13-P15, P23-P25).

use super::*;

// Share rendering -------------------------------------------------------------------

pub(super) fn v1_share_el(w: &PlexWorld, sh: &PlexShare) -> El {
    let acct = sh.invited_id.and_then(|i| w.account(i));
    let server = w.server(&sh.machine_id);
    let mut el = El::new("SharedServer")
        .a("id", sh.id)
        .a("username", acct.map(|a| a.username.as_str()).unwrap_or(""))
        .a(
            "email",
            acct.map(|a| a.email.as_str())
                .unwrap_or(sh.invited_email.as_str()),
        )
        .a("userID", sh.invited_id.unwrap_or(0))
        .a(
            "accessToken",
            if sh.accepted_at.is_some() {
                sh.access_token.as_str()
            } else {
                ""
            },
        )
        .a("name", server.map(|s| s.name.as_str()).unwrap_or(""))
        .a("machineIdentifier", &sh.machine_id)
        .a("invitedAt", sh.invited_at)
        .a(
            "acceptedAt",
            sh.accepted_at.map(|t| t.to_string()).unwrap_or_default(),
        )
        .a("accepted", sh.accepted_at.is_some())
        .a("allowSync", sh.settings.allow_sync)
        .a("allowCameraUpload", sh.settings.allow_camera_upload)
        .a("allowChannels", sh.settings.allow_channels)
        .a("allowSubtitleAdmin", sh.settings.allow_subtitle_admin)
        .a("allowTuners", sh.settings.allow_tuners)
        .a("allLibraries", sh.all_libraries)
        .a("owned", false)
        .a("filterAll", &sh.settings.filter_all)
        .a("filterMovies", &sh.settings.filter_movies)
        .a("filterMusic", &sh.settings.filter_music)
        .a("filterPhotos", &sh.settings.filter_photos)
        .a("filterTelevision", &sh.settings.filter_television);
    if let Some(s) = server {
        for sec in &s.sections {
            let shared = sh.all_libraries || sh.section_ids.contains(&sec.global_id);
            el = el.child(
                El::new("Section")
                    .a("id", sec.global_id)
                    .a("key", sec.key)
                    .a("title", &sec.title)
                    .a("type", &sec.kind)
                    .a("shared", shared),
            );
        }
    }
    el
}

pub(super) fn invited_json(w: &PlexWorld, sh: &PlexShare) -> Value {
    match sh.invited_id.and_then(|i| w.account(i)) {
        Some(a) => json!({
            "id": a.id, "uuid": a.uuid, "username": a.username, "email": a.email, "title": a.title,
            "friendlyName": a.title, "home": w.home.contains(&a.id), "restricted": false,
            "thumb": format!("https://plex.tv/users/{}/avatar?c=1", a.uuid),
        }),
        None => Value::Null,
    }
}

pub(super) fn settings_json(s: &PlexShareSettings) -> Value {
    let f = |v: &str| if v.is_empty() { Value::Null } else { json!(v) };
    json!({
        "allowSync": s.allow_sync, "allowChannels": s.allow_channels, "allowCameraUpload": s.allow_camera_upload,
        "allowSubtitleAdmin": s.allow_subtitle_admin, "allowTuners": s.allow_tuners,
        "filterMovies": f(&s.filter_movies), "filterMusic": f(&s.filter_music), "filterPhotos": f(&s.filter_photos),
        "filterTelevision": f(&s.filter_television), "filterAll": f(&s.filter_all),
    })
}

pub(super) fn v2_share_json(w: &PlexWorld, sh: &PlexShare) -> Value {
    let server = w.server(&sh.machine_id);
    let libraries: Vec<Value> = server
        .map(|s| {
            s.sections
                .iter()
                .filter(|sec| sh.all_libraries || sh.section_ids.contains(&sec.global_id))
                .map(|sec| json!({"id": sec.global_id, "key": sec.key, "title": sec.title, "type": sec.kind}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": sh.id, "name": server.map(|s| s.name.clone()), "ownerId": w.owner.id,
        "machineIdentifier": sh.machine_id, "invitedId": sh.invited_id, "invitedEmail": sh.invited_email,
        "accepted": sh.accepted_at.is_some(),
        "acceptedAt": sh.accepted_at.map(ids::iso_secs), "invitedAt": ids::iso_secs(sh.invited_at),
        "deletedAt": null, "leftAt": null, "owned": false, "allLibraries": sh.all_libraries,
        "numLibraries": libraries.len(), "libraries": libraries,
        "invited": invited_json(w, sh), "sharingSettings": settings_json(&sh.settings),
    })
}

// Share creation (P11/P12) ----------------------------------------------------------

pub(super) enum Invitee {
    Id(i64),
    Who(String),
}

pub(super) struct NewShare {
    pub(super) machine_id: String,
    pub(super) invitee: Invitee,
    pub(super) section_ids: Vec<i64>,
    pub(super) settings: PlexShareSettings,
}

/// Validate and record a share. Errors are (status, message); every refusal plex.tv
/// and the operator docs list is a 422 (ref §1.2 P12, §1.4.5; operations §5.4).
pub(super) fn create_share(
    w: &mut PlexWorld,
    n: NewShare,
) -> Result<PlexShare, (StatusCode, String)> {
    let unproc = |m: &str| (StatusCode::UNPROCESSABLE_ENTITY, m.to_string());
    let Some(server) = w.server(&n.machine_id).cloned() else {
        return Err(unproc(
            "The server you requested could not be found (invalid machine identifier).",
        ));
    };
    let (invited_id, invited_email) = match &n.invitee {
        Invitee::Id(id) => match w.account(*id) {
            Some(a) => (Some(a.id), a.email.clone()),
            None => return Err((StatusCode::NOT_FOUND, "User not found".into())),
        },
        Invitee::Who(who) => match w.find_account(who) {
            Some(a) => (Some(a.id), a.email.clone()),
            // No account for that e-mail: Plex e-mails an invitation, not an error (ref §1.2 P11).
            None if who.contains('@') => (None, who.clone()),
            // A non-existent username: behaviour not observed (ref §9.1); refuse.
            None => {
                return Err(unproc(
                    "Unable to find a Plex user with that username or email.",
                ));
            }
        },
    };
    if invited_id == Some(w.owner.id) {
        return Err(unproc("You cannot share a server with yourself."));
    }
    if invited_id.is_some_and(|i| w.home.contains(&i)) {
        return Err(unproc("This user is already a member of your Plex Home."));
    }
    let dup = w.shares.iter().any(|s| {
        s.machine_id == n.machine_id
            && (invited_id.is_some() && s.invited_id == invited_id
                || s.invited_email.eq_ignore_ascii_case(&invited_email))
    });
    if dup {
        let name = invited_id
            .and_then(|i| w.account(i))
            .map(|a| a.username.clone())
            .unwrap_or(invited_email);
        return Err(unproc(&format!(
            "You're already sharing this server with {name}. Please edit your existing share."
        )));
    }
    if let Some(bad) = n
        .section_ids
        .iter()
        .find(|id| server.section_by_global(**id).is_none())
    {
        return Err(unproc(&format!("Invalid library section id {bad}")));
    }
    if w.share_limit
        .is_some_and(|lim| w.users_on(&n.machine_id) >= lim)
    {
        return Err(unproc(
            "This server has reached the maximum number of users it can be shared with.",
        ));
    }
    let share = PlexShare {
        id: w.next_id(),
        machine_id: n.machine_id,
        invited_id,
        invited_email,
        all_libraries: n.section_ids.is_empty(),
        section_ids: n.section_ids,
        settings: n.settings,
        invited_at: ids::now_secs(),
        accepted_at: None,
        access_token: ids::plex_token(),
    };
    w.shares.push(share.clone());
    Ok(share)
}

pub(super) fn section_ids(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(loose_i64).collect())
        .unwrap_or_default()
}

pub(super) fn str_field(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or("").to_string()
}

/// Settings from a v1 `sharing_settings` / v2 `settings` object, starting from `base`.
pub(super) fn parse_settings(v: Option<&Value>, base: &PlexShareSettings) -> PlexShareSettings {
    let mut s = base.clone();
    let Some(v) = v else { return s };
    let b = |k: &str, cur: bool| loose_bool(v.get(k)).unwrap_or(cur);
    s.allow_sync = b("allowSync", s.allow_sync);
    s.allow_camera_upload = b("allowCameraUpload", s.allow_camera_upload);
    s.allow_channels = b("allowChannels", s.allow_channels);
    s.allow_subtitle_admin = b("allowSubtitleAdmin", s.allow_subtitle_admin);
    if let Some(t) = v.get("allowTuners").and_then(loose_i64) {
        s.allow_tuners = t;
    }
    for (k, f) in [
        ("filterMovies", &mut s.filter_movies),
        ("filterTelevision", &mut s.filter_television),
        ("filterMusic", &mut s.filter_music),
        ("filterPhotos", &mut s.filter_photos),
        ("filterAll", &mut s.filter_all),
    ] {
        if let Some(x) = v.get(k) {
            *f = str_field(Some(x));
        }
    }
    s
}

pub(super) async fn v1_create_share(
    State(st): State<St>,
    a: Authed,
    Path(mid): Path<String>,
    body: Bytes,
) -> Response {
    let path = a.uri.path().to_string();
    let Some(v) = parse_json(&body) else {
        return v1_err(&path, StatusCode::BAD_REQUEST, "Bad Request");
    };
    let mut w = lock(&st.world);
    if !a.is_owner(&w) || w.server(&mid).is_none() {
        return v1_err(&path, StatusCode::NOT_FOUND, "Not Found");
    }
    let ss = v.get("shared_server");
    let invitee = match ss.and_then(|s| s.get("invited_id")).and_then(loose_i64) {
        Some(id) => Invitee::Id(id),
        None => match ss
            .and_then(|s| s.get("invited_email"))
            .and_then(Value::as_str)
        {
            Some(e) if !e.trim().is_empty() => Invitee::Who(e.trim().to_string()),
            _ => return v1_err(&path, StatusCode::BAD_REQUEST, "invited_email is required"),
        },
    };
    let settings = parse_settings(v.get("sharing_settings"), &PlexShareSettings::default());
    let n = NewShare {
        machine_id: mid,
        invitee,
        section_ids: section_ids(ss.and_then(|s| s.get("library_section_ids"))),
        settings,
    };
    match create_share(&mut w, n) {
        Ok(sh) => xml(
            StatusCode::OK,
            container(&w)
                .a("size", 1usize)
                .child(v1_share_el(&w, &sh))
                .to_xml(),
        ),
        Err((st, m)) => v1_err(&path, st, &m),
    }
}

pub(super) async fn v2_create_share(State(st): State<St>, a: Authed, body: Bytes) -> Response {
    let path = a.uri.path().to_string();
    let Some(v) = parse_json(&body) else {
        return v1_err(&path, StatusCode::BAD_REQUEST, "Bad Request");
    };
    let mut w = lock(&st.world);
    if !a.is_owner(&w) {
        return v1_err(&path, StatusCode::FORBIDDEN, "Forbidden");
    }
    let Some(mid) = v
        .get("machineIdentifier")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return v1_err(
            &path,
            StatusCode::UNPROCESSABLE_ENTITY,
            "machineIdentifier is required",
        );
    };
    let invitee = match v.get("invitedId").and_then(loose_i64) {
        Some(id) => Invitee::Id(id),
        None => match v.get("invitedEmail").and_then(Value::as_str) {
            Some(e) if !e.trim().is_empty() => Invitee::Who(e.trim().to_string()),
            _ => {
                return v1_err(
                    &path,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invitedEmail is required",
                );
            }
        },
    };
    let n = NewShare {
        machine_id: mid,
        invitee,
        section_ids: section_ids(v.get("librarySectionIds")),
        settings: parse_settings(v.get("settings"), &PlexShareSettings::default()),
    };
    match create_share(&mut w, n) {
        // 2xx, exact code UNCERTAIN (ref §9.2): 201 Created so clients must accept any 2xx.
        Ok(sh) => {
            let body = v2_share_json(&w, &sh);
            drop(w);
            v2_reply(&a, StatusCode::CREATED, "sharedServer", body)
        }
        Err((st, m)) => v1_err(&path, st, &m),
    }
}

// Listing (P13/P14/P15/P23/P24) ------------------------------------------------------

pub(super) async fn v1_list_shares(
    State(st): State<St>,
    a: Authed,
    Path(mid): Path<String>,
) -> Response {
    let w = lock(&st.world);
    if !a.is_owner(&w) || w.server(&mid).is_none() {
        return v1_err(a.uri.path(), StatusCode::NOT_FOUND, "Not Found");
    }
    let list: Vec<El> = w
        .shares
        .iter()
        .filter(|s| s.machine_id == mid)
        .map(|s| v1_share_el(&w, s))
        .collect();
    xml(
        StatusCode::OK,
        container(&w).a("size", list.len()).kids(list).to_xml(),
    )
}

pub(super) fn owned_shares(w: &PlexWorld, a: &Authed) -> Vec<PlexShare> {
    if a.is_owner(w) {
        w.shares.clone()
    } else {
        Vec::new()
    }
}

pub(super) async fn v2_accepted(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let list: Vec<Value> = owned_shares(&w, &a)
        .iter()
        .filter(|s| s.accepted_at.is_some())
        .map(|s| v2_share_json(&w, s))
        .collect();
    drop(w);
    v2_reply(&a, StatusCode::OK, "sharedServers", Value::Array(list))
}

/// Pending invites grouped per invitee, each with its `sharedServers[]` (ref §1.2 P15).
pub(super) fn pending_json(w: &PlexWorld, shares: &[PlexShare]) -> Vec<Value> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for s in shares.iter().filter(|s| s.accepted_at.is_none()) {
        let key = s
            .invited_id
            .map(|i| i.to_string())
            .unwrap_or_else(|| s.invited_email.to_lowercase());
        let sv = v2_share_json(w, s);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, inv)) => {
                if let Some(arr) = inv["sharedServers"].as_array_mut() {
                    arr.push(sv);
                }
            }
            None => out.push((
                key,
                json!({
                    "id": s.id, "createdAt": ids::iso_secs(s.invited_at), "friend": false, "home": false,
                    "server": true, "invitedEmail": s.invited_email, "invited": invited_json(w, s),
                    "owner": {"id": w.owner.id, "uuid": w.owner.uuid, "username": w.owner.username,
                              "email": w.owner.email, "title": w.owner.title, "friendlyName": w.owner.title},
                    "sharedServers": [sv],
                }),
            )),
        }
    }
    out.into_iter().map(|(_, v)| v).collect()
}

pub(super) async fn v2_pending(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let list = pending_json(&w, &owned_shares(&w, &a));
    drop(w);
    v2_reply(&a, StatusCode::OK, "invites", Value::Array(list))
}

/// P25, with the *customer's* token: invites addressed to that account.
pub(super) async fn v2_received_pending(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let mine: Vec<PlexShare> = w
        .shares
        .iter()
        .filter(|s| {
            s.invited_id == Some(a.account.id)
                || (s.invited_id.is_none()
                    && s.invited_email.eq_ignore_ascii_case(&a.account.email))
        })
        .cloned()
        .collect();
    let list = pending_json(&w, &mine);
    drop(w);
    v2_reply(&a, StatusCode::OK, "invites", Value::Array(list))
}

pub(super) async fn v2_accept(
    State(st): State<St>,
    a: Authed,
    Path(sid): Path<String>,
) -> Response {
    let path = a.uri.path().to_string();
    let mut w = lock(&st.world);
    let sid: i64 = sid.parse().unwrap_or(-1);
    let mine = w.shares.iter().any(|s| {
        s.id == sid
            && (s.invited_id == Some(a.account.id)
                || (s.invited_id.is_none()
                    && s.invited_email.eq_ignore_ascii_case(&a.account.email)))
    });
    if !mine {
        return v1_err(
            &path,
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        );
    }
    if let Some(sh) = w.shares.iter_mut().find(|s| s.id == sid) {
        sh.invited_id = Some(a.account.id);
    }
    match w.accept(sid) {
        Some(sh) => {
            let body = v2_share_json(&w, &sh);
            drop(w);
            v2_reply(&a, StatusCode::OK, "sharedServer", body)
        }
        None => v1_err(&path, StatusCode::NOT_FOUND, "Not Found"),
    }
}

pub(super) async fn v1_users(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    if !a.is_owner(&w) {
        return xml(StatusCode::OK, container(&w).a("size", 0usize).to_xml());
    }
    let users: Vec<El> = w
        .friends
        .iter()
        .filter_map(|(uid, fs)| w.account(*uid).map(|acct| (acct, fs)))
        .map(|(acct, fs)| {
            let servers = w
                .shares
                .iter()
                .filter(|s| s.invited_id == Some(acct.id))
                .filter_map(|sh| {
                    let srv = w.server(&sh.machine_id)?;
                    Some(
                        El::new("Server")
                            .a("id", sh.id)
                            .a("serverId", srv.server_id)
                            .a("machineIdentifier", &srv.machine_id)
                            .a("name", &srv.name)
                            .a("lastSeenAt", ids::now_secs())
                            .a(
                                "numLibraries",
                                if sh.all_libraries {
                                    srv.sections.len()
                                } else {
                                    sh.section_ids.len()
                                },
                            )
                            .a("allLibraries", sh.all_libraries)
                            .a("owned", false)
                            .a("pending", sh.accepted_at.is_none()),
                    )
                });
            El::new("User")
                .a("id", acct.id)
                .a("title", &acct.title)
                .a("username", &acct.username)
                .a("email", &acct.email)
                .a("recommendationsPlaylistId", "")
                .a(
                    "thumb",
                    format!("https://plex.tv/users/{}/avatar?c=1", acct.uuid),
                )
                .a("protected", false)
                .a("home", w.home.contains(&acct.id))
                .a("allowTuners", fs.allow_tuners)
                .a("allowSync", fs.allow_sync)
                .a("allowCameraUpload", fs.allow_camera_upload)
                .a("allowChannels", fs.allow_channels)
                .a("allowSubtitleAdmin", fs.allow_subtitle_admin)
                .a("filterAll", &fs.filter_all)
                .a("filterMovies", &fs.filter_movies)
                .a("filterMusic", &fs.filter_music)
                .a("filterPhotos", &fs.filter_photos)
                .a("filterTelevision", &fs.filter_television)
                .a("restricted", false)
                .kids(servers)
        })
        .collect();
    xml(
        StatusCode::OK,
        container(&w)
            .a("totalSize", users.len())
            .a("size", users.len())
            .kids(users)
            .to_xml(),
    )
}

pub(super) async fn v1_home_users(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let owner = a.is_owner(&w);
    let mut users = vec![
        El::new("User")
            .a("id", w.owner.id)
            .a("uuid", &w.owner.uuid)
            .a("title", &w.owner.title)
            .a("username", &w.owner.username)
            .a("email", &w.owner.email)
            .a("admin", true)
            .a("guest", false)
            .a("restricted", false)
            .a("protected", false)
            .a("home", true),
    ];
    if owner {
        for acct in w.home.iter().filter_map(|i| w.account(*i)) {
            users.push(
                El::new("User")
                    .a("id", acct.id)
                    .a("uuid", &acct.uuid)
                    .a("title", &acct.title)
                    .a("username", &acct.username)
                    .a("email", &acct.email)
                    .a("admin", false)
                    .a("guest", false)
                    .a("restricted", false)
                    .a("protected", false)
                    .a("home", true),
            );
        }
    }
    xml(
        StatusCode::OK,
        container(&w).a("size", users.len()).kids(users).to_xml(),
    )
}

/// P24: pull an existing account into Plex Home (`invitedEmail`, needs Plex Pass) or
/// create a managed user (`title`).
pub(super) async fn v1_home_add(State(st): State<St>, a: Authed) -> Response {
    let path = a.uri.path().to_string();
    let q = query_map(&a.uri);
    let mut w = lock(&st.world);
    if !a.is_owner(&w) {
        return v1_err(&path, StatusCode::FORBIDDEN, "Forbidden");
    }
    let acct = if let Some(email) = q.get("invitedEmail") {
        if !w.owner.plex_pass {
            return v1_err(
                &path,
                StatusCode::BAD_REQUEST,
                "Invite a user requires a Plex Pass",
            );
        }
        match w.find_account(email).cloned() {
            Some(acct) => acct,
            None => return v1_err(&path, StatusCode::NOT_FOUND, "User not found"),
        }
    } else if let Some(title) = q.get("title").filter(|t| !t.is_empty()) {
        let seed = PlexAccountSeed {
            username: String::new(),
            email: String::new(),
            id: None,
            token: None,
            home: false,
        };
        let mut acct = w.register(seed);
        acct.title = title.clone();
        if let Some(x) = w.accounts.iter_mut().find(|x| x.id == acct.id) {
            x.title = title.clone();
        }
        acct
    } else {
        return v1_err(
            &path,
            StatusCode::BAD_REQUEST,
            "invitedEmail or title is required",
        );
    };
    if !w.home.contains(&acct.id) {
        w.home.push(acct.id);
    }
    let el = El::new("User")
        .a("id", acct.id)
        .a("uuid", &acct.uuid)
        .a("title", &acct.title)
        .a("username", &acct.username)
        .a("email", &acct.email)
        .a("admin", false)
        .a("guest", false)
        .a("restricted", acct.email.is_empty())
        .a("protected", false)
        .a("home", true);
    xml(StatusCode::OK, el.to_xml())
}

pub(super) async fn v1_home_remove(
    State(st): State<St>,
    a: Authed,
    Path(id): Path<String>,
) -> Response {
    let mut w = lock(&st.world);
    let id: i64 = id.parse().unwrap_or(-1);
    if !a.is_owner(&w) || !w.home.contains(&id) {
        return v1_err(a.uri.path(), StatusCode::NOT_FOUND, "Not Found");
    }
    w.home.retain(|x| *x != id);
    StatusCode::OK.into_response()
}
