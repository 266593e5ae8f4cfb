//! Overseerr's permission bitmask (`server/lib/permissions.ts` in the Overseerr family) and
//! Ombi's role names, so plans name permissions instead of numbers.

/// Overseerr permission names and their bits.
pub const OVERSEERR_PERMISSIONS: &[(&str, i64)] = &[
    ("ADMIN", 2),
    ("MANAGE_SETTINGS", 4),
    ("MANAGE_USERS", 8),
    ("MANAGE_REQUESTS", 16),
    ("REQUEST", 32),
    ("VOTE", 64),
    ("AUTO_APPROVE", 128),
    ("AUTO_APPROVE_MOVIE", 256),
    ("AUTO_APPROVE_TV", 512),
    ("REQUEST_4K", 1024),
    ("REQUEST_4K_MOVIE", 2048),
    ("REQUEST_4K_TV", 4096),
    ("REQUEST_ADVANCED", 8192),
    ("REQUEST_VIEW", 16384),
    ("AUTO_APPROVE_4K", 32768),
    ("AUTO_APPROVE_4K_MOVIE", 65536),
    ("AUTO_APPROVE_4K_TV", 131072),
    ("REQUEST_MOVIE", 262144),
    ("REQUEST_TV", 524288),
    ("MANAGE_ISSUES", 1048576),
    ("VIEW_ISSUES", 2097152),
    ("CREATE_ISSUES", 4194304),
    ("AUTO_REQUEST", 8388608),
    ("AUTO_REQUEST_MOVIE", 16777216),
    ("AUTO_REQUEST_TV", 33554432),
    ("RECENT_VIEW", 67108864),
    ("WATCHLIST_VIEW", 134217728),
];

pub(crate) const OVERSEERR_NAMES: [&str; 27] = {
    let mut out = [""; 27];
    let mut i = 0;
    while i < 27 {
        out[i] = OVERSEERR_PERMISSIONS[i].0;
        i += 1;
    }
    out
};

/// Ombi roles a plan may grant (`OmbiRoles` in Ombi); `Disabled` is how boxoffice disables.
pub const OMBI_ROLES: &[&str] = &[
    "RequestMovie",
    "RequestTv",
    "RequestMusic",
    "AutoApproveMovie",
    "AutoApproveTv",
    "AutoApproveMusic",
    "Request4KMovie",
    "ReceivesNewsletter",
    "ManageOwnRequests",
    "Disabled",
];

/// The bitmask of the named permissions; unknown names are ignored (validated at the edge).
pub fn overseerr_bits(names: &[String]) -> i64 {
    names
        .iter()
        .filter_map(|n| OVERSEERR_PERMISSIONS.iter().find(|(k, _)| k == n))
        .fold(0, |acc, (_, b)| acc | b)
}

/// The names set in a bitmask, in table order.
pub fn overseerr_names(bits: i64) -> Vec<String> {
    OVERSEERR_PERMISSIONS
        .iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits_round_trip() {
        let names = vec!["REQUEST".to_string(), "AUTO_APPROVE".to_string()];
        assert_eq!(overseerr_bits(&names), 160);
        assert_eq!(overseerr_names(160), names);
        assert_eq!(OVERSEERR_NAMES.len(), OVERSEERR_PERMISSIONS.len());
    }
}
