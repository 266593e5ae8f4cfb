//! Jellyfin/Emby libraries and item counts (ref §2.2 J11-J14, §3.2 E8-E9).

use super::*;

// Libraries --------------------------------------------------------------------------

pub(super) async fn media_folders(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    let items: Vec<Value> = st
        .libraries
        .iter()
        .map(|l| st.media_folder_dto(l))
        .collect();
    Json(json!({ "Items": items, "TotalRecordCount": items.len(), "StartIndex": 0 }))
        .into_response()
}

/// J12: a bare array whose `ItemId` equals the MediaFolders `Id` (ref §2.5.7).
pub(super) async fn virtual_folders(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    Json(Value::Array(
        st.libraries
            .iter()
            .map(|l| st.virtual_folder_dto(l))
            .collect(),
    ))
    .into_response()
}

pub(super) async fn virtual_folders_query(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    let q = query_map(&u);
    let start: usize = q_get(&q, "StartIndex")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: usize = q_get(&q, "Limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let items: Vec<Value> = st
        .libraries
        .iter()
        .skip(start)
        .take(limit)
        .map(|l| st.virtual_folder_dto(l))
        .collect();
    Json(json!({ "Items": items, "TotalRecordCount": st.libraries.len() })).into_response()
}

pub(super) async fn item_counts(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, false);
    let c = |k: &str| st.counts(k);
    let total: u64 = st.libraries.iter().flat_map(|l| l.counts.values()).sum();
    let mut v = json!({
        "MovieCount": c("Movie"), "SeriesCount": c("Series"), "EpisodeCount": c("Episode"),
        "ArtistCount": c("MusicArtist"), "ProgramCount": 0, "TrailerCount": 0, "SongCount": c("Audio"),
        "AlbumCount": c("MusicAlbum"), "MusicVideoCount": 0, "BoxSetCount": 0, "BookCount": 0, "ItemCount": total,
    });
    if st.kind.is_emby() {
        v["GameCount"] = json!(0);
        v["GameSystemCount"] = json!(0);
    }
    Json(v).into_response()
}

/// J14: `{Items, TotalRecordCount, StartIndex}` honouring `StartIndex`/`Limit`.
pub(super) async fn items(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, false);
    let q = query_map(&u);
    let parent = q_get(&q, "ParentId").map(str::to_string);
    let libs: Vec<_> = match &parent {
        None => st.libraries.iter().collect(),
        Some(p) => {
            let norm = if st.kind.is_emby() {
                Some(p.clone())
            } else {
                ids::normalize_guid(p)
            };
            let Some(norm) = norm else {
                return problem(json!({ "parentId": [format!("The value '{p}' is not valid.")] }));
            };
            st.libraries.iter().filter(|l| l.id == norm).collect()
        }
    };
    let types: Vec<String> = query_all(&u, "IncludeItemTypes");
    let mut rows: Vec<(String, String, u64)> = Vec::new();
    for l in &libs {
        for (k, n) in &l.counts {
            if types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                rows.push((l.name.clone(), k.clone(), *n));
            }
        }
    }
    let total: u64 = rows.iter().map(|r| r.2).sum();
    let start: u64 = q_get(&q, "StartIndex")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let limit: u64 = q_get(&q, "Limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(total)
        .min(500);
    let mut out = Vec::new();
    let mut idx = 0u64;
    'outer: for (lib, kind, n) in &rows {
        for i in 0..*n {
            if idx >= start + limit {
                break 'outer;
            }
            if idx >= start {
                out.push(json!({"Name": format!("{lib} {kind} {}", i + 1), "Id": ids::hex(32), "Type": kind,
                                "ServerId": st.server_id, "IsFolder": kind == "Series" || kind == "MusicAlbum"}));
            }
            idx += 1;
        }
    }
    Json(json!({ "Items": out, "TotalRecordCount": total, "StartIndex": start })).into_response()
}
