//! Library groups and plans (product §9, §10). Every plan change is validated against the whole
//! set of plans as it would be after the change, with `boxoffice_domain::plans::validate_plans`,
//! so a rule about the set (one default, a trial plan) holds whichever plan was edited.

pub mod groups;
pub mod plan_admin;
mod rules;

pub use plan_admin::{PlanInput, parse_cost};
