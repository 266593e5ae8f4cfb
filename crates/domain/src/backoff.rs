//! Retry timing for background jobs: exponential with full jitter, capped.

/// Seconds to wait before attempt `attempt + 1`, given `jitter` in [0, 1).
pub fn retry_delay_secs(attempt: u32, base_secs: i64, cap_secs: i64, jitter: f64) -> i64 {
    let exp = base_secs.saturating_mul(1i64 << attempt.min(30));
    let ceiling = exp.min(cap_secs).max(1);
    // Half fixed, half random: never zero, never a thundering herd.
    let half = ceiling / 2;
    half + ((ceiling - half) as f64 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn delays_grow_and_stay_under_the_cap(a in 0u32..40, j in 0.0f64..1.0) {
            let d = retry_delay_secs(a, 10, 3600, j);
            prop_assert!((1..=3600).contains(&d));
            prop_assert!(retry_delay_secs(a + 1, 10, 3600, 0.0) >= retry_delay_secs(a, 10, 3600, 0.0));
        }
    }
}
