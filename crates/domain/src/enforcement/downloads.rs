//! The weekly download quota (operations §3.7). A week runs Sunday 00:00 to Saturday 23:59:59 in
//! the owner's time zone; each movie or episode is one download, and a download still running two
//! hours after it started counts again (and again every two hours after that). Downloads cannot be
//! stopped once started, so the quota is kept by notifying and, if the owner wants it, by turning
//! the customer's downloads off once the quota is used up, until the next week.

use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;
/// A download must finish within this long, or it counts again.
pub const RECOUNT_AFTER_SECS: i64 = 2 * 60 * 60;

/// The start (Unix seconds) of the week holding `now`, for a time zone `utc_offset_secs` east of UTC.
pub fn week_start(now: i64, utc_offset_secs: i64) -> i64 {
    let local_day = (now + utc_offset_secs).div_euclid(DAY);
    // 1970-01-01 was a Thursday: four days after a Sunday.
    let sunday = local_day - (local_day + 4).rem_euclid(7);
    sunday * DAY - utc_offset_secs
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// The movie or episode downloaded.
    pub item: String,
    pub started_at: i64,
    /// `None` while still running.
    pub finished_at: Option<i64>,
}

/// How many downloads count against the week starting at `week_start`, as of `now`.
pub fn count_downloads(downloads: &[Download], week_start: i64, now: i64) -> u32 {
    let week_end = week_start + 7 * DAY;
    let mut total: u64 = 0;
    for d in downloads {
        // Counting moments: the start, then every two-hour mark the download is still running
        // at (one that finishes exactly on the mark finished in time).
        let still_running_at = |at: i64| match d.finished_at {
            Some(done) => at < done && at <= now,
            None => at <= now,
        };
        let mut at = d.started_at;
        let mut k: i64 = 0;
        while (k == 0 && at <= now) || (k > 0 && still_running_at(at)) {
            if at >= week_start && at < week_end {
                total += 1;
            }
            k += 1;
            at = d.started_at + k * RECOUNT_AFTER_SECS;
        }
    }
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// What has been done for the quota; kept per customer between passes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadState {
    /// The week (its start) in which the customer was told the quota was exceeded.
    pub notified_week: Option<i64>,
    /// The week in which boxoffice turned the customer's downloads off.
    pub disabled_week: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DownloadStep {
    /// Send "download quota exceeded".
    pub notify: bool,
    /// Turn the customer's download permission off on their servers.
    pub disable: bool,
    /// Turn it back on: a new week began and the plan allows downloads.
    pub restore: bool,
}

/// One customer's quota decision for the week starting at `week`.
pub fn download_step(
    used: u32,
    quota: Option<u32>,
    permanent: bool,
    plan_allows_downloads: bool,
    disable_when_used_up: bool,
    state: &DownloadState,
    week: i64,
) -> (DownloadState, DownloadStep) {
    let mut next = state.clone();
    let mut step = DownloadStep::default();
    if state.disabled_week.is_some_and(|w| w != week)
        || (permanent && state.disabled_week.is_some())
    {
        next.disabled_week = None;
        step.restore = plan_allows_downloads;
    }
    let Some(quota) = quota.filter(|_| !permanent) else {
        return (next, step);
    };
    if used > quota && state.notified_week != Some(week) {
        next.notified_week = Some(week);
        step.notify = true;
    }
    // Reaching the quota is enough to turn downloads off: a started download cannot be stopped,
    // so waiting for it to be exceeded would always let one more through.
    if disable_when_used_up && used >= quota && next.disabled_week != Some(week) {
        next.disabled_week = Some(week);
        step.disable = true;
        step.restore = false;
    }
    (next, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sunday 2026-12-06 00:00:00 UTC.
    const SUNDAY: i64 = 1_796_515_200;

    #[test]
    fn a_week_runs_from_sunday_midnight_in_the_owners_time_zone() {
        assert_eq!(week_start(SUNDAY, 0), SUNDAY);
        assert_eq!(week_start(SUNDAY + 6 * DAY + DAY - 1, 0), SUNDAY);
        assert_eq!(week_start(SUNDAY - 1, 0), SUNDAY - 7 * DAY);
        // One hour east of UTC the local week began an hour before UTC's.
        assert_eq!(week_start(SUNDAY, 3_600), SUNDAY - 3_600);
        assert_eq!(week_start(SUNDAY - 3_600, 3_600), SUNDAY - 3_600);
    }

    #[test]
    fn a_download_running_past_two_hours_counts_again() {
        let quick = Download {
            item: "m1".into(),
            started_at: SUNDAY + 10,
            finished_at: Some(SUNDAY + 600),
        };
        assert_eq!(
            count_downloads(std::slice::from_ref(&quick), SUNDAY, SUNDAY + DAY),
            1
        );
        let slow = Download {
            item: "m2".into(),
            started_at: SUNDAY + 10,
            finished_at: None,
        };
        assert_eq!(
            count_downloads(
                std::slice::from_ref(&slow),
                SUNDAY,
                SUNDAY + 10 + RECOUNT_AFTER_SECS - 1
            ),
            1
        );
        assert_eq!(
            count_downloads(
                std::slice::from_ref(&slow),
                SUNDAY,
                SUNDAY + 10 + RECOUNT_AFTER_SECS
            ),
            2
        );
        let exactly = Download {
            item: "m3".into(),
            started_at: SUNDAY,
            finished_at: Some(SUNDAY + RECOUNT_AFTER_SECS),
        };
        assert_eq!(
            count_downloads(&[exactly], SUNDAY, SUNDAY + DAY),
            1,
            "finishing at the two-hour mark is in time"
        );
    }

    #[test]
    fn the_quota_resets_at_the_week_boundary() {
        let saturday_night = Download {
            item: "e1".into(),
            started_at: SUNDAY - 60,
            finished_at: Some(SUNDAY - 30),
        };
        let sunday_morning = Download {
            item: "e2".into(),
            started_at: SUNDAY + 60,
            finished_at: Some(SUNDAY + 90),
        };
        let all = [saturday_night, sunday_morning];
        assert_eq!(count_downloads(&all, SUNDAY - 7 * DAY, SUNDAY - 1), 1);
        assert_eq!(count_downloads(&all, SUNDAY, SUNDAY + 100), 1);
    }

    #[test]
    fn over_quota_notifies_once_a_week_and_turns_downloads_off_until_the_next() {
        let s = DownloadState::default();
        let (s, step) = download_step(3, Some(3), false, true, true, &s, SUNDAY);
        assert_eq!(
            step,
            DownloadStep {
                notify: false,
                disable: true,
                restore: false
            }
        );
        let (s, step) = download_step(4, Some(3), false, true, true, &s, SUNDAY);
        assert_eq!(
            step,
            DownloadStep {
                notify: true,
                disable: false,
                restore: false
            }
        );
        let (s, step) = download_step(5, Some(3), false, true, true, &s, SUNDAY);
        assert_eq!(step, DownloadStep::default());
        let next_week = SUNDAY + 7 * DAY;
        let (s, step) = download_step(0, Some(3), false, true, true, &s, next_week);
        assert_eq!(
            step,
            DownloadStep {
                notify: false,
                disable: false,
                restore: true
            }
        );
        assert_eq!(
            s,
            DownloadState {
                notified_week: Some(SUNDAY),
                disabled_week: None
            }
        );
    }

    #[test]
    fn without_the_disable_option_only_a_notice_is_sent() {
        let (_, step) = download_step(
            9,
            Some(3),
            false,
            true,
            false,
            &DownloadState::default(),
            SUNDAY,
        );
        assert_eq!(
            step,
            DownloadStep {
                notify: true,
                disable: false,
                restore: false
            }
        );
    }

    #[test]
    fn a_permanent_user_or_no_quota_is_never_limited() {
        let (_, step) = download_step(
            99,
            Some(3),
            true,
            true,
            true,
            &DownloadState::default(),
            SUNDAY,
        );
        assert_eq!(step, DownloadStep::default());
        let (_, step) = download_step(
            99,
            None,
            false,
            true,
            true,
            &DownloadState::default(),
            SUNDAY,
        );
        assert_eq!(step, DownloadStep::default());
    }
}
