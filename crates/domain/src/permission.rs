//! Named permissions. Every admin route and API operation names the one it needs; a role is a set
//! of them. Administrator holds all, User (a customer) none.

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $name:literal, $label:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name),* }
            }

            pub fn label(self) -> &'static str {
                match self { $(Permission::$variant => $label),* }
            }

            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    DashboardRead => "dashboard.read", "See the dashboard";
    UsersRead => "users.read", "See users";
    UsersWrite => "users.write", "Change users";
    PaymentsRead => "payments.read", "See payments";
    PaymentsWrite => "payments.write", "Change payments";
    UnmatchedPaymentsRead => "unmatched_payments.read", "See unmatched payments";
    UnmatchedPaymentsWrite => "unmatched_payments.write", "Resolve unmatched payments";
    PlansRead => "plans.read", "See plans";
    PlansWrite => "plans.write", "Change plans";
    DiscountCodesRead => "discount_codes.read", "See discount codes";
    DiscountCodesWrite => "discount_codes.write", "Change discount codes";
    ServersRead => "servers.read", "See servers";
    ServersWrite => "servers.write", "Change servers";
    ServerLocationsRead => "server_locations.read", "See server locations";
    ServerLocationsWrite => "server_locations.write", "Change server locations";
    LibrariesRead => "libraries.read", "See libraries";
    LibrariesWrite => "libraries.write", "Change libraries";
    LibraryGroupsRead => "library_groups.read", "See library groups";
    LibraryGroupsWrite => "library_groups.write", "Change library groups";
    SharedServersRead => "shared_servers.read", "See shared servers";
    PlexAccountsRead => "plex_accounts.read", "See Plex accounts";
    PlexAccountsWrite => "plex_accounts.write", "Change Plex accounts";
    SiteLoginsRead => "site_logins.read", "See site logins";
    SiteLoginsWrite => "site_logins.write", "Change site logins";
    LinkedUsersRead => "linked_users.read", "See linked users";
    LinkedUsersWrite => "linked_users.write", "Change linked users";
    DevicesRead => "devices.read", "See devices";
    DevicesWrite => "devices.write", "Change devices";
    SettingsRead => "settings.read", "See settings";
    SettingsWrite => "settings.write", "Change settings";
    RolesRead => "roles.read", "See roles";
    RolesWrite => "roles.write", "Change roles";
    ActivityRead => "activity.read", "See streaming activity";
    JobsRead => "jobs.read", "See background jobs";
    JobsWrite => "jobs.write", "Run and retry background jobs";
    AuditRead => "audit.read", "See the audit log";
}

/// The two roles that ship with boxoffice and cannot be changed or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleKind {
    Administrator,
    User,
    Custom,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Administrator => "administrator",
            RoleKind::User => "user",
            RoleKind::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "administrator" => Some(RoleKind::Administrator),
            "user" => Some(RoleKind::User),
            "custom" => Some(RoleKind::Custom),
            _ => None,
        }
    }
}

/// The permissions a role grants. Built-in roles ignore whatever is stored for them.
pub fn effective_permissions(kind: RoleKind, stored: &[Permission]) -> Vec<Permission> {
    match kind {
        RoleKind::Administrator => Permission::ALL.to_vec(),
        RoleKind::User => Vec::new(),
        RoleKind::Custom => {
            let mut v = stored.to_vec();
            v.sort();
            v.dedup();
            v
        }
    }
}

/// Parses a comma-separated list of permission names, naming the first unknown one.
pub fn parse_list(s: &str) -> Result<Vec<Permission>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Permission::from_name(p).ok_or_else(|| format!("unknown permission \"{p}\"")))
        .collect()
}

pub fn format_list(p: &[Permission]) -> String {
    p.iter().map(|p| p.name()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_name_round_trips() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_name(p.name()), Some(*p));
        }
        assert_eq!(
            parse_list("users.read, plans.write").unwrap(),
            vec![Permission::UsersRead, Permission::PlansWrite]
        );
        assert!(parse_list("users.reed").unwrap_err().contains("users.reed"));
    }

    #[test]
    fn built_in_roles_ignore_stored_permissions() {
        assert_eq!(
            effective_permissions(RoleKind::Administrator, &[]).len(),
            Permission::ALL.len()
        );
        assert!(effective_permissions(RoleKind::User, &[Permission::UsersWrite]).is_empty());
    }
}
