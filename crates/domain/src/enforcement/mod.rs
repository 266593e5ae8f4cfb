//! Enforcement rules (operations §3.6–3.9): what one pass over live readings decides. The rules
//! take readings already matched to customers and return the actions to take; reading the servers,
//! stopping sessions and notifying are the caller's I/O. Keeping every decision here means the
//! scenarios (flicker, cross-platform counting, audio-only transcodes) are tested without a server.

pub mod breach;
pub mod devices;
pub mod downloads;
pub mod sessions;
pub mod streams;
pub mod transcode;

pub use breach::{BreachState, BreachStep};
pub use devices::{DeviceStep, EmbyDevice, emby_device_step};
pub use downloads::{
    Download, DownloadState, DownloadStep, count_downloads, download_step, week_start,
};
pub use sessions::{CustomerRules, ServerRules, Session, VideoMode};
pub use streams::{
    PassMemory, StopReason, StreamAction, StreamPass, StreamPolicy, StreamSettings,
    plan_stream_pass,
};
pub use transcode::{TranscodeVerdict, transcode_verdict};
