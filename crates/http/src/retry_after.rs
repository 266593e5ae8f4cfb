//! `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Some services send
//! fractional seconds (Discord's headers); those are read too.

use std::time::{Duration, SystemTime};

use boxoffice_domain::Clock;

/// The wait a `Retry-After` value asks for, measured against `clock` when it is a date; a
/// date in the past is no wait. `None` when the value is neither form.
pub fn parse_retry_after(value: &str, clock: &dyn Clock) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Ok(f) = v.parse::<f64>() {
        return (f.is_finite() && f >= 0.0).then(|| Duration::from_secs_f64(f.min(1e9)));
    }
    // IMF-fixdate, RFC 850 and asctime, as RFC 9110 requires a recipient to accept.
    let when = httpdate::parse_http_date(v).ok()?;
    let when = when.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs((when - clock.unix()).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::TestClock;

    fn clock() -> TestClock {
        TestClock::at(time::macros::datetime!(2026-01-01 0:00 UTC))
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(
            parse_retry_after("7", &clock()),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(" 0 ", &clock()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", &clock()),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_as_every_http_date_form() {
        let c = clock();
        let thirty = Some(Duration::from_secs(30));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", &c),
            thirty
        );
        assert_eq!(
            parse_retry_after("Thursday, 01-Jan-26 00:00:30 GMT", &c),
            thirty
        );
        assert_eq!(parse_retry_after("Thu Jan  1 00:00:30 2026", &c), thirty);
    }

    #[test]
    fn a_date_in_the_past_is_no_wait_and_garbage_is_none() {
        let c = clock();
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", &c),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", &c), None);
        assert_eq!(parse_retry_after("-3", &c), None);
        assert_eq!(parse_retry_after("", &c), None);
    }
}
