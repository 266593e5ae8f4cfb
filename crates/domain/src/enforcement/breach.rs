//! A customer's over-the-limit incident across passes. A breach is confirmed only after a number of
//! consecutive readings over the limit, so one flickering reading (a player reconnecting, a session
//! the server has not closed yet) never stops anyone, and one incident is notified once.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreachState {
    /// Consecutive readings over the limit, up to the confirmation count.
    pub over_readings: u32,
    /// The incident was acted on; the customer is not notified again until back under the limit.
    pub notified: bool,
    /// Under the "customer chooses" policy: when the choice ends and the newest streams stop.
    pub grace_until: Option<i64>,
    /// Under the "customer chooses" policy: the grace ended with streams stopped, and the
    /// customer was told so.
    #[serde(default)]
    pub grace_spent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachStep {
    /// Under the limit (again): the incident, if any, is over.
    Clear,
    /// Over the limit, not yet on enough consecutive readings.
    Watching,
    /// Over the limit on enough consecutive readings; `first` on the reading that confirmed it.
    Confirmed { first: bool },
}

impl BreachState {
    /// The state after one more reading. `confirm_after` below 1 is taken as 1.
    pub fn observe(&self, over: bool, confirm_after: u32) -> (BreachState, BreachStep) {
        if !over {
            return (BreachState::default(), BreachStep::Clear);
        }
        let needed = confirm_after.max(1);
        let readings = self.over_readings.saturating_add(1).min(needed);
        let next = BreachState {
            over_readings: readings,
            ..self.clone()
        };
        if readings < needed {
            (next, BreachStep::Watching)
        } else {
            let first = !self.notified;
            (
                BreachState {
                    notified: true,
                    ..next
                },
                BreachStep::Confirmed { first },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flickering_reading_confirms_nothing() {
        let (s, step) = BreachState::default().observe(true, 2);
        assert_eq!(step, BreachStep::Watching);
        let (s, step) = s.observe(false, 2);
        assert_eq!(step, BreachStep::Clear);
        let (_, step) = s.observe(true, 2);
        assert_eq!(step, BreachStep::Watching);
    }

    #[test]
    fn two_consecutive_readings_confirm_once_and_notify_once() {
        let (s, _) = BreachState::default().observe(true, 2);
        let (s, step) = s.observe(true, 2);
        assert_eq!(step, BreachStep::Confirmed { first: true });
        let (s, step) = s.observe(true, 2);
        assert_eq!(step, BreachStep::Confirmed { first: false });
        let (s, _) = s.observe(false, 2);
        let (s, _) = s.observe(true, 2);
        let (_, step) = s.observe(true, 2);
        assert_eq!(
            step,
            BreachStep::Confirmed { first: true },
            "a new incident is notified again"
        );
    }

    #[test]
    fn a_confirmation_count_of_one_acts_on_the_first_reading() {
        let (_, step) = BreachState::default().observe(true, 1);
        assert_eq!(step, BreachStep::Confirmed { first: true });
        let (_, step) = BreachState::default().observe(true, 0);
        assert_eq!(step, BreachStep::Confirmed { first: true });
    }
}
