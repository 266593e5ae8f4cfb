//! Emby device-login limits (operations §3.9). Emby counts every device that ever logged in, in
//! use or not, so the limit is kept with the user's "allow all devices" switch and its list of
//! enabled devices, and by deleting the least recently used devices above the limit.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbyDevice {
    pub id: String,
    /// Last activity (Unix seconds) as the server reports it.
    pub last_used: i64,
}

/// What the user's device settings must become.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStep {
    pub allow_all_devices: bool,
    /// With `allow_all_devices` off: the devices that keep working.
    pub enabled_devices: Vec<String>,
    /// Devices to delete from the server, least recently used first.
    pub delete: Vec<String>,
}

/// `limit: None` is unlimited; permanent users are never limited.
pub fn emby_device_step(devices: &[EmbyDevice], limit: Option<u32>, permanent: bool) -> DeviceStep {
    let open = DeviceStep {
        allow_all_devices: true,
        enabled_devices: Vec::new(),
        delete: Vec::new(),
    };
    let Some(limit) = limit.filter(|_| !permanent) else {
        return open;
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if devices.len() < limit {
        return open;
    }
    let mut by_age: Vec<&EmbyDevice> = devices.iter().collect();
    by_age.sort_by(|a, b| a.last_used.cmp(&b.last_used).then_with(|| a.id.cmp(&b.id)));
    let excess = devices.len() - limit;
    let delete = by_age[..excess].iter().map(|d| d.id.clone()).collect();
    let mut enabled_devices: Vec<String> = by_age[excess..].iter().map(|d| d.id.clone()).collect();
    enabled_devices.sort();
    DeviceStep {
        allow_all_devices: false,
        enabled_devices,
        delete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices(n: i64) -> Vec<EmbyDevice> {
        (0..n)
            .map(|i| EmbyDevice {
                id: format!("dev{i}"),
                last_used: 1_000 + i,
            })
            .collect()
    }

    #[test]
    fn under_the_limit_allow_all_devices_stays_on() {
        let step = emby_device_step(&devices(2), Some(3), false);
        assert!(step.allow_all_devices);
        assert!(step.delete.is_empty());
    }

    #[test]
    fn at_the_limit_new_devices_are_refused_and_the_current_ones_kept() {
        let step = emby_device_step(&devices(3), Some(3), false);
        assert!(!step.allow_all_devices);
        assert_eq!(step.enabled_devices, vec!["dev0", "dev1", "dev2"]);
        assert!(step.delete.is_empty());
    }

    #[test]
    fn over_the_limit_the_least_recently_used_devices_are_deleted() {
        let step = emby_device_step(&devices(5), Some(3), false);
        assert!(!step.allow_all_devices);
        assert_eq!(step.delete, vec!["dev0", "dev1"]);
        assert_eq!(step.enabled_devices, vec!["dev2", "dev3", "dev4"]);
    }

    #[test]
    fn an_empty_limit_or_a_permanent_user_is_unlimited() {
        assert!(emby_device_step(&devices(50), None, false).allow_all_devices);
        let step = emby_device_step(&devices(50), Some(1), true);
        assert!(step.allow_all_devices);
        assert!(step.delete.is_empty());
    }
}
