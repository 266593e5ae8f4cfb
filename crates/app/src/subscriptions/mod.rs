//! The subscription lifecycle: manual invite, renewal, server selection and provisioning, the
//! share job that applies a share to its server, hourly expiry, plan change, cancel and delete.
//! Every use case writes its change, the audit row and the jobs it implies in one transaction;
//! media calls happen only in jobs, so a failing server delays a share and never loses it.

mod apply;
pub(crate) mod change;
mod detail;
mod edit;
mod expiry;
mod grants;
mod invite;
mod linked;
mod media_password;
mod migrate;
mod migrate_stops;
mod my_subscription;
pub(crate) mod new_customer;
pub(crate) mod plan;
mod plex_change;
pub(crate) mod provision;
mod reconcile;
mod reinvite;
mod waiting;

pub use apply::ShareApplied;
pub use change::PlanChanged;
pub use detail::{CustomerDetail, CustomerStatus};
pub use edit::{CustomerEdit, CustomerEdited};
pub use expiry::ExpiryReport;
pub use invite::{InviteInput, InviteOutcome, InviteWay, RenewInput, ShareDelivery};
pub use linked::{LINKED_LIST_LIMIT, MyLinkedUsers, NewSubAccount};
pub use media_password::{
    LINK_VALID_DAYS, LinkState, MEDIA_PASSWORD_JOB, MediaPasswordView, NEW_LINK_WAIT_SECS,
    spent_message,
};
pub use migrate::{
    MIGRATION_DONE_EVENT, MIGRATION_JOB, MigrationInput, MigrationPreview, MigrationReport,
    MigrationView, PLEX_BAN_WARNING_FROM,
};
pub use my_subscription::{
    MyPayment, MyReceipt, MyRecurring, MyRequestApp, MyServer, MySubscription,
};
pub use new_customer::{FieldError, NewCustomerError, NewCustomerForm};
pub use plex_change::{
    PLEX_CHANGE_REQUIRED_EVENT, PLEX_CHANGE_SETTING, PLEX_CHANGED_EVENT, PlexAccountChanged,
};
pub use reconcile::{DriftView, ReconcileReport, kind as drift_kind};
pub use reinvite::{
    PLEX_BAN_WARNING, REINVITE_BUTTON_SETTING, SELF_REINVITE_EVENT, SELF_REINVITE_EVERY_MINUTES,
    SERVER_REINVITE_EVENT, SelfReinvite, SelfReinvited, ServerReinvitePreview,
};
pub use waiting::PlacementReport;

/// Applies one share's desired state to its server (payload `{"share_id"}`).
pub const SHARE_APPLY_JOB: &str = "shares.apply";
/// The hourly expiry pass.
pub const EXPIRY_JOB: &str = "subscriptions.expire";
/// Deletes a customer once every share of theirs is gone from the servers (payload `{"customer_id"}`).
pub const CUSTOMER_DELETE_JOB: &str = "customers.delete";
/// Compares every enabled server with our shares (payload `{"manual": true}` when asked for).
pub const RECONCILE_JOB: &str = "reconcile.scan";

/// Gives customers who paid while no server had room a share once one has.
pub const PLACE_WAITING_JOB: &str = "subscriptions.place_waiting";

/// The admin event kind of "no server can take this plan".
pub const NO_CAPACITY_EVENT: &str = "no_capacity";

const DAY: i64 = 86_400;
