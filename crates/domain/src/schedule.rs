//! When a recurring job is due: a fixed interval aligned to the Unix epoch, or a five-field cron
//! expression evaluated in UTC. Aligning ticks gives every instance the same tick boundaries, so
//! "once per tick across instances" has a well-defined tick.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    Every { secs: i64 },
    Cron(Cron),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid schedule \"{input}\": {reason}")]
pub struct ScheduleError {
    pub input: String,
    pub reason: String,
}

impl Schedule {
    /// "every 5m", "every 1h", "every 30s", "every 1d", or a cron expression "0 5 * * *".
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let t = s.trim();
        let err = |reason: &str| ScheduleError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = t.strip_prefix("every ") {
            let rest = rest.trim();
            let (num, unit) = rest.split_at(
                rest.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len()),
            );
            let n: i64 = num
                .parse()
                .map_err(|_| err("expected a number such as \"every 5m\""))?;
            let mult = match unit.trim() {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86400,
                _ => return Err(err("the unit must be s, m, h or d")),
            };
            if n <= 0 {
                return Err(err("the interval must be positive"));
            }
            return Ok(Schedule::Every { secs: n * mult });
        }
        Cron::parse(t).map(Schedule::Cron).map_err(|r| err(&r))
    }

    /// The first tick strictly after `t` (Unix seconds).
    pub fn next_after(&self, t: i64) -> i64 {
        match self {
            Schedule::Every { secs } => (t.div_euclid(*secs) + 1) * secs,
            Schedule::Cron(c) => c.next_after(t),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every { secs } if secs % 86400 == 0 => write!(f, "every {}d", secs / 86400),
            Schedule::Every { secs } if secs % 3600 == 0 => write!(f, "every {}h", secs / 3600),
            Schedule::Every { secs } if secs % 60 == 0 => write!(f, "every {}m", secs / 60),
            Schedule::Every { secs } => write!(f, "every {secs}s"),
            Schedule::Cron(c) => f.write_str(&c.source),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    any_day: bool,
    any_weekday: bool,
}

fn parse_field(f: &str, min: u32, max: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in f.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in \"{part}\""))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("step 0 in \"{part}\""));
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = a
                .parse::<u32>()
                .map_err(|_| format!("bad number in \"{part}\""))?;
            let b = b
                .parse::<u32>()
                .map_err(|_| format!("bad number in \"{part}\""))?;
            (a, b)
        } else {
            let a = range
                .parse::<u32>()
                .map_err(|_| format!("bad number in \"{part}\""))?;
            (a, if part.contains('/') { max } else { a })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("\"{part}\" is outside {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    pub fn parse(s: &str) -> Result<Self, String> {
        let f: Vec<&str> = s.split_whitespace().collect();
        if f.len() != 5 {
            return Err("a cron expression has five fields: minute hour day month weekday".into());
        }
        let mut weekdays = parse_field(f[4], 0, 7)? as u8;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(Self {
            source: s.trim().to_string(),
            minutes: parse_field(f[0], 0, 59)?,
            hours: parse_field(f[1], 0, 23)? as u32,
            days: parse_field(f[2], 1, 31)? as u32,
            months: parse_field(f[3], 1, 12)? as u16,
            weekdays,
            any_day: f[2] == "*",
            any_weekday: f[4] == "*",
        })
    }

    fn day_matches(&self, d: time::Date) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().number_days_from_sunday()) != 0;
        let month = self.months & (1 << d.month() as u8) != 0;
        // Classic cron: when both day fields are restricted, either may match.
        month
            && match (self.any_day, self.any_weekday) {
                (true, true) => true,
                (true, false) => dow,
                (false, true) => dom,
                (false, false) => dom || dow,
            }
    }

    pub fn next_after(&self, t: i64) -> i64 {
        let mut cur = (t.div_euclid(60) + 1) * 60;
        // Five years of minutes bounds the search even for "31 2 *" style impossibilities.
        let limit = cur + 5 * 366 * 86400;
        while cur < limit {
            let Ok(dt) = time::OffsetDateTime::from_unix_timestamp(cur) else {
                break;
            };
            if !self.day_matches(dt.date()) {
                cur = (cur.div_euclid(86400) + 1) * 86400;
                continue;
            }
            if self.hours & (1 << dt.hour()) == 0 {
                cur = (cur.div_euclid(3600) + 1) * 3600;
                continue;
            }
            if self.minutes & (1 << dt.minute()) == 0 {
                cur += 60;
                continue;
            }
            return cur;
        }
        i64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ts(d: time::OffsetDateTime) -> i64 {
        d.unix_timestamp()
    }

    #[test]
    fn intervals_tick_on_aligned_boundaries() {
        let s = Schedule::parse("every 5m").unwrap();
        assert_eq!(
            s.next_after(ts(datetime!(2026-01-01 10:02:10 UTC))),
            ts(datetime!(2026-01-01 10:05 UTC))
        );
        assert_eq!(
            s.next_after(ts(datetime!(2026-01-01 10:05 UTC))),
            ts(datetime!(2026-01-01 10:10 UTC))
        );
        assert_eq!(s.to_string(), "every 5m");
    }

    #[test]
    fn petio_sync_runs_daily_at_five_utc() {
        let s = Schedule::parse("0 5 * * *").unwrap();
        assert_eq!(
            s.next_after(ts(datetime!(2026-03-01 06:00 UTC))),
            ts(datetime!(2026-03-02 05:00 UTC))
        );
        assert_eq!(
            s.next_after(ts(datetime!(2026-03-01 04:59:59 UTC))),
            ts(datetime!(2026-03-01 05:00 UTC))
        );
    }

    #[test]
    fn cron_steps_lists_and_weekdays() {
        let s = Schedule::parse("*/15 9-17 * * 1-5").unwrap();
        // Saturday 2026-03-07 → Monday 09:00.
        assert_eq!(
            s.next_after(ts(datetime!(2026-03-07 12:00 UTC))),
            ts(datetime!(2026-03-09 09:00 UTC))
        );
        assert_eq!(
            s.next_after(ts(datetime!(2026-03-09 09:00 UTC))),
            ts(datetime!(2026-03-09 09:15 UTC))
        );
    }

    #[test]
    fn bad_schedules_say_why() {
        assert!(
            Schedule::parse("every 0m")
                .unwrap_err()
                .reason
                .contains("positive")
        );
        assert!(
            Schedule::parse("61 * * * *")
                .unwrap_err()
                .reason
                .contains("outside")
        );
        assert!(
            Schedule::parse("* * *")
                .unwrap_err()
                .reason
                .contains("five fields")
        );
    }
}
