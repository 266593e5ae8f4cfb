//! Id and token generation. Deterministic enough for tests, unique across fakes in
//! one process (a global counter is mixed into a SplitMix64 stream).

use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next_u64() -> u64 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = seed.wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` lowercase hex digits. Plex machine identifiers are 40 (ref §1.1); Jellyfin and
/// Emby GUIDs are 32, written without dashes (ref §2.3 "Ids and dates").
pub fn hex(n: usize) -> String {
    let mut s = String::with_capacity(n + 16);
    while s.len() < n {
        s.push_str(&format!("{:016x}", next_u64()));
    }
    s.truncate(n);
    s
}

/// A Plex-style auth token: 20 characters from `[A-Za-z0-9_-]`.
pub fn plex_token() -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..20)
        .map(|_| ALPHA[(next_u64() % ALPHA.len() as u64) as usize] as char)
        .collect()
}

/// Plex `Session id` strings look like `helf15l3rxgw01xxe0jf3l3d` (ref §1.1).
pub fn plex_session_id() -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..24)
        .map(|_| ALPHA[(next_u64() % ALPHA.len() as u64) as usize] as char)
        .collect()
}

/// Accept a GUID with or without dashes and return the canonical undashed lowercase
/// form; `None` when it is not a GUID (Jellyfin answers 400 then, ref §2.5.1).
pub fn normalize_guid(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| *c != '-').collect();
    let dashed_ok = !s.contains('-') || (s.len() == 36 && s.matches('-').count() == 4);
    (dashed_ok && t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| t.to_ascii_lowercase())
}

pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// ISO-8601 in UTC with 7 fractional digits, as .NET writes it (ref §2.3).
pub fn iso_now() -> String {
    iso(time::OffsetDateTime::now_utc())
}

pub fn iso(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// Plex v2 `resources` timestamps: `YYYY-MM-DDTHH:MM:SSZ` (ref §1.1).
pub fn iso_secs(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_forms() {
        let g = hex(32);
        assert_eq!(normalize_guid(&g).as_deref(), Some(g.as_str()));
        let dashed = format!(
            "{}-{}-{}-{}-{}",
            &g[..8],
            &g[8..12],
            &g[12..16],
            &g[16..20],
            &g[20..]
        );
        assert_eq!(
            normalize_guid(&dashed.to_uppercase()).as_deref(),
            Some(g.as_str())
        );
        assert!(normalize_guid("not-a-guid").is_none());
        assert_eq!(plex_token().len(), 20);
    }
}
