//! Turning a notification into a message: templates rendered with the customer's values
//! (auto-escaped in HTML), and delivery by e-mail over SMTP. Discord delivery is in
//! `boxoffice-discord`. Nothing here reads the database: callers pass settings and values in.

pub mod email;
pub mod render;

pub use email::{EmailError, Outgoing, Security, SmtpSettings};
pub use render::{RenderError, Rendered, check_template, render};
