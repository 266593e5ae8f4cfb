//! The registry of runtime settings: everything an owner edits in the admin panel. Each setting is
//! declared once here with its type, default, help text and validation; storage keeps only the
//! values that differ from the default, and the admin pages are drawn from this table.

use crate::email::Email;
use crate::money::Currency;
use crate::schedule::Schedule;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Text {
        max_len: usize,
    },
    /// Stored encrypted, never shown back.
    Secret,
    Email,
    Url,
    Currency,
    /// A comma-separated list of whole days, e.g. reminder "days prior".
    DayList,
    Choice(&'static [&'static str]),
    Schedule,
    /// A decimal amount in the site currency, e.g. 2.50; empty means none.
    Amount,
    /// A colour as `#rrggbb` (`#rgb` is widened); empty means the design's own.
    Colour,
}

#[derive(Clone, Copy, Debug)]
pub struct SettingDef {
    pub key: &'static str,
    pub section: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    /// The default as stored text; "" means unset.
    pub default: &'static str,
    pub help: &'static str,
}

macro_rules! settings {
    ($($key:literal, $section:literal, $label:literal, $kind:expr, $default:literal, $help:literal;)*) => {
        pub const REGISTRY: &[SettingDef] = &[
            $(SettingDef { key: $key, section: $section, label: $label, kind: $kind, default: $default, help: $help }),*
        ];
    };
}

settings! {
    "general.site_name", "General", "Site name", Kind::Text { max_len: 80 }, "boxoffice", "Shown in the page title, e-mails and Discord messages.";
    "general.site_uri", "General", "Site URI", Kind::Url, "", "The public address of this site, e.g. https://tv.example.com. Links in e-mails are built from it.";
    "general.admin_email", "General", "Administrator e-mail", Kind::Email, "", "Where administrator notifications are sent.";
    "general.admin_discord_id", "General", "Administrator Discord ID", Kind::Text { max_len: 32 }, "", "The numeric Discord user id that receives administrator DMs.";
    "general.contact_page_enabled", "General", "Contact Us page enabled", Kind::Bool, "true", "Customers can write to the administrator from the site.";
    "general.home_page_public", "General", "Home page is public", Kind::Bool, "true", "Visitors who are not logged in can see the home page.";
    "general.faq_page_public", "General", "FAQ page is public", Kind::Bool, "true", "Visitors who are not logged in can see the FAQ.";
    "payments.currency", "Payments", "Currency", Kind::Currency, "USD", "The currency of every plan and payment (ISO 4217 code).";
    "payments.stripe.recurring_enabled", "Payments", "Stripe recurring payments", Kind::Bool, "false", "Offer plans with a Stripe price ID as Stripe subscriptions at checkout.";
    "payments.paypal.recurring_enabled", "Payments", "PayPal recurring payments", Kind::Bool, "false", "Offer plans with a PayPal plan ID as PayPal subscriptions at checkout.";
    "payments.stripe.enabled", "Stripe", "Stripe enabled", Kind::Bool, "false", "Customers can pay with Stripe at checkout, and Stripe webhooks are accepted.";
    "payments.stripe.publishable_key", "Stripe", "Publishable key", Kind::Text { max_len: 255 }, "", "Stripe Dashboard → Developers → API keys (pk_live_… or pk_test_…).";
    "payments.stripe.secret_key", "Stripe", "Secret key", Kind::Secret, "", "Stripe Dashboard → Developers → API keys (sk_live_… or sk_test_…). Stored encrypted; never shown again.";
    "payments.stripe.webhook_secret", "Stripe", "Webhook signing secret", Kind::Secret, "", "The whsec_… secret of the endpoint you added for <site URI>/webhooks/stripe (Developers → Webhooks). Stored encrypted; never shown again.";
    "payments.stripe.webhook_secret_previous", "Stripe", "Previous webhook signing secret", Kind::Secret, "", "While Stripe rolls the endpoint secret, the old whsec_… is accepted too; clear it once the roll is over.";
    "payments.stripe.api_base", "Stripe", "Stripe API address", Kind::Url, "", "Leave empty for https://api.stripe.com. The sandbox and demo point it at their fake Stripe.";
    "payments.paypal.enabled", "PayPal", "PayPal enabled", Kind::Bool, "false", "Customers can pay with PayPal at checkout, and PayPal webhooks are accepted.";
    "payments.paypal.environment", "PayPal", "Environment", Kind::Choice(&["sandbox", "live"]), "live", "Sandbox and live credentials differ and cannot be mixed: pick the one your credentials were made for.";
    "payments.paypal.client_id", "PayPal", "REST client ID", Kind::Text { max_len: 255 }, "", "Primary account: developer.paypal.com → Apps & Credentials → your app → Client ID. Used for checkout and recurring subscriptions.";
    "payments.paypal.client_secret", "PayPal", "REST secret", Kind::Secret, "", "Primary account: the app's Secret. Stored encrypted; never shown again.";
    "payments.paypal.webhook_id", "PayPal", "Webhook ID", Kind::Text { max_len: 64 }, "", "The ID PayPal shows for the webhook you added for <site URI>/webhooks/paypal (Apps & Credentials → your app → Webhooks).";
    "payments.paypal.nvp_username", "PayPal", "NVP API username", Kind::Text { max_len: 255 }, "", "Primary account: Account Settings → API access → NVP/SOAP API integration → API username. Used for transaction sync.";
    "payments.paypal.nvp_password", "PayPal", "NVP API password", Kind::Secret, "", "Primary account's NVP API password. Stored encrypted; never shown again.";
    "payments.paypal.nvp_signature", "PayPal", "NVP API signature", Kind::Secret, "", "Primary account's NVP API signature. Stored encrypted; never shown again.";
    "payments.paypal.secondary_nvp_username", "PayPal", "Secondary account: NVP API username", Kind::Text { max_len: 255 }, "", "A second PayPal account that is only synced (e.g. a personal account receiving friends-and-family payments). Leave empty for none.";
    "payments.paypal.secondary_nvp_password", "PayPal", "Secondary account: NVP API password", Kind::Secret, "", "Stored encrypted; never shown again.";
    "payments.paypal.secondary_nvp_signature", "PayPal", "Secondary account: NVP API signature", Kind::Secret, "", "Stored encrypted; never shown again.";
    "payments.paypal.api_base", "PayPal", "PayPal API address", Kind::Url, "", "Leave empty for PayPal's own host of the chosen environment. The sandbox and demo point it at their fake PayPal (webhook certificates are then accepted from that address too).";
    "payments.paypal.nvp_url", "PayPal", "PayPal NVP address", Kind::Url, "", "Leave empty for PayPal's own NVP host (or <API address>/nvp when the API address is set).";
    "payments.plisio.enabled", "Plisio", "Plisio enabled", Kind::Bool, "false", "Customers can pay in crypto with Plisio at checkout (pay as you go only), and Plisio callbacks are accepted.";
    "payments.plisio.secret_key", "Plisio", "Secret key", Kind::Secret, "", "Plisio → API → Secret key. It also signs the status callbacks sent to <site URI>/webhooks/plisio. Stored encrypted; never shown again.";
    "payments.plisio.api_base", "Plisio", "Plisio API address", Kind::Url, "", "Leave empty for https://api.plisio.net/api/v1. The sandbox and demo point it at their fake Plisio.";
    "email.enabled", "E-mail", "E-mail notifications enabled", Kind::Bool, "false", "Send e-mail notifications through the SMTP server below.";
    "email.smtp_host", "E-mail", "SMTP host", Kind::Text { max_len: 255 }, "", "Host name of the SMTP server.";
    "email.smtp_port", "E-mail", "SMTP port", Kind::Int { min: 1, max: 65535 }, "587", "Usually 587 (STARTTLS), 465 (TLS) or 25 (plain).";
    "email.smtp_security", "E-mail", "SMTP security", Kind::Choice(&["starttls", "tls", "none"]), "starttls", "How the connection to the SMTP server is protected.";
    "email.smtp_username", "E-mail", "SMTP username", Kind::Text { max_len: 255 }, "", "Leave empty when the server needs no login.";
    "email.smtp_password", "E-mail", "SMTP password", Kind::Secret, "", "Stored encrypted; never shown again.";
    "email.from_address", "E-mail", "From address", Kind::Email, "", "The sender address of every e-mail.";
    "email.from_name", "E-mail", "From name", Kind::Text { max_len: 80 }, "", "The sender name of every e-mail.";
    "email.reply_to", "E-mail", "Reply-to address", Kind::Email, "", "Where customers' replies go; leave empty to use the From address.";
    "discord.enabled", "Discord", "Discord notifications enabled", Kind::Bool, "false", "Send DMs and admin messages through the Discord bot.";
    "discord.bot_token", "Discord", "Bot token", Kind::Secret, "", "Stored encrypted; never shown again.";
    "registration.enabled", "Registration", "Registrations enabled", Kind::Bool, "true", "Visitors can create a site login.";
    "registration.public", "Registration", "Public registrations enabled", Kind::Bool, "true", "Anyone may register; when off, only current sharers or holders of a referral code.";
    "registration.require_discord", "Registration", "Require Discord information", Kind::Bool, "false", "The registration form demands a Discord username and the numeric Discord ID.";
    "registration.sharers_allowed", "Registration", "Current sharers may register", Kind::Bool, "true", "With public registrations off, a person whose e-mail (or Plex e-mail) already shares one of your servers may still register. Off with referral registrations on: referral code only.";
    "reminders.enabled", "Payment reminders", "Send payment reminders", Kind::Bool, "true", "Remind pay-as-you-go customers before their access ends.";
    "reminders.days_prior", "Payment reminders", "Days prior", Kind::DayList, "3,1", "Comma-separated days before expiry on which a reminder is sent, e.g. 7,3,1.";
    "subscriptions.enabled", "Subscriptions & trials", "Subscription enabled", Kind::Bool, "true", "Customers can subscribe to a plan.";
    "subscriptions.trial_enabled", "Subscriptions & trials", "Trial enabled", Kind::Bool, "false", "Customers can start a free trial.";
    "subscriptions.force_trial_first", "Subscriptions & trials", "Force trial prior to subscription", Kind::Bool, "false", "A customer must take the trial before subscribing.";
    "subscriptions.max_trial_users", "Subscriptions & trials", "Maximum number of trial users", Kind::Int { min: 0, max: 1_000_000 }, "0", "0 means unlimited.";
    "media.sync_from_remote", "Media server integration", "Sync from remote server", Kind::Bool, "true", "Import users found on the media servers.";
    "media.import_as_permanent", "Media server integration", "Import new users as permanent", Kind::Bool, "false", "Users found on a server are imported as permanent instead of onto the default plan.";
    "media.sync_shared_libraries", "Media server integration", "Sync shared libraries to remote server", Kind::Bool, "true", "Repair shares that differ from what the plan grants.";
    "media.delete_expired_after_days", "Media server integration", "Delete expired users after days", Kind::Int { min: 0, max: 3650 }, "0", "0 deletes expired users from the server at once; otherwise they are unshared at expiry and deleted later.";
    "media.require_emby_connect", "Media server integration", "Require Emby Connect", Kind::Bool, "false", "Emby customers must link an Emby Connect account.";
    "security.session_idle_minutes", "Security", "Session idle timeout (minutes)", Kind::Int { min: 5, max: 43_200 }, "720", "A login session ends after this long without a request.";
    "security.session_max_days", "Security", "Session lifetime (days)", Kind::Int { min: 1, max: 365 }, "14", "A login session ends this long after it started, whatever its activity.";
    "security.login_attempts_before_delay", "Security", "Failed logins before a delay", Kind::Int { min: 1, max: 100 }, "5", "After this many failures per account or per address, each further attempt waits twice as long as the last.";
    "security.email_two_factor", "Security", "E-mailed login codes for staff", Kind::Bool, "false", "Administrators and staff without an authenticator app confirm each login with a 6-digit code sent to their e-mail (needs e-mail notifications set up).";
    "jobs.sessions_purge.enabled", "Background jobs", "Purge expired sessions", Kind::Bool, "true", "Delete ended sessions, used tokens and old throttle counters.";
    "jobs.sessions_purge.schedule", "Background jobs", "Purge expired sessions: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.queue_prune.enabled", "Background jobs", "Prune finished jobs", Kind::Bool, "true", "Delete finished jobs after 14 days; dead jobs stay until retried or dismissed.";
    "jobs.queue_prune.schedule", "Background jobs", "Prune finished jobs: schedule", Kind::Schedule, "0 3 * * *", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.self_test.enabled", "Background jobs", "Media self-test", Kind::Bool, "true", "Check every Plex account and server daily: each read boxoffice relies on, and a harmless write where one exists.";
    "jobs.self_test.schedule", "Background jobs", "Media self-test: schedule", Kind::Schedule, "0 4 * * *", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.server_sync.enabled", "Background jobs", "Sync servers", Kind::Bool, "true", "Refresh every enabled server's name and version and sync its libraries.";
    "jobs.server_sync.schedule", "Background jobs", "Sync servers: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.expiry.enabled", "Background jobs", "Expire subscriptions", Kind::Bool, "true", "Take shares away from customers whose paid time ended, and delete them from the server after the configured days.";
    "jobs.expiry.schedule", "Background jobs", "Expire subscriptions: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.place_waiting.enabled", "Background jobs", "Place customers waiting for a server", Kind::Bool, "true", "Invite customers who paid while no server had room for their plan, as soon as one has.";
    "jobs.place_waiting.schedule", "Background jobs", "Place customers waiting for a server: schedule", Kind::Schedule, "every 15m", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.reconcile.enabled", "Background jobs", "Reconcile servers", Kind::Bool, "true", "Compare every enabled server's users with what their plans grant, import unknown users, and repair drift when \"Sync shared libraries\" is on.";
    "jobs.reconcile.schedule", "Background jobs", "Reconcile servers: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "jobs.reminders.enabled", "Background jobs", "Payment reminders", Kind::Bool, "true", "Queue the Subscription Expiring Soon reminders that are due (each is sent once; see Payment reminders).";
    "jobs.reminders.schedule", "Background jobs", "Payment reminders: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "misc.plex_account_change_processing", "Miscellaneous", "Plex account change processing", Kind::Bool, "false", "Customers flagged as requiring a Plex account change can give a new Plex account on My Account, which is verified on plex.tv and invited in place of the old one.";
    "misc.show_reinvite_button", "Miscellaneous", "Show Re-Invite Yourself button", Kind::Bool, "true", "Paid-up customers who lost access to their Plex server can re-send their own invite from My Account (at most once every 15 minutes).";
    "discord.admin_channel_id", "Discord", "Admin channel ID", Kind::Text { max_len: 20 }, "", "The numeric id of the server channel that receives administrator messages; empty sends them to the administrator's DMs only.";
    "discord.sync_enabled", "Discord integration", "Discord sync enabled", Kind::Bool, "false", "Active customers with a Discord ID get a role; expired customers lose it and may be kicked. Permanent customers are left alone.";
    "discord.guild_id", "Discord integration", "Server (guild) ID", Kind::Text { max_len: 20 }, "", "The numeric id of the Discord server the bot manages (Developer Mode → right-click the server → Copy Server ID).";
    "discord.subscriber_role", "Discord integration", "Subscriber role name", Kind::Text { max_len: 100 }, "", "Role given to active customers on a non-trial plan; empty gives none.";
    "discord.trial_role", "Discord integration", "Trial role name", Kind::Text { max_len: 100 }, "", "Role given to active customers on a trial plan; empty gives none.";
    "discord.kick_enabled", "Discord integration", "Kick users", Kind::Bool, "false", "Remove expired customers from the Discord server.";
    "discord.kick_after_days", "Discord integration", "Kick after days", Kind::Int { min: 0, max: 3650 }, "0", "How long a customer must have been expired before being kicked; 0 kicks at the next sync.";
    "jobs.discord_sync.enabled", "Background jobs", "Discord role sync", Kind::Bool, "true", "Repair Discord roles and kick customers expired long enough (only while Discord sync is enabled).";
    "jobs.discord_sync.schedule", "Background jobs", "Discord role sync: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "requests.overseerr.enabled", "Request apps", "Overseerr/Jellyseerr user sync enabled", Kind::Bool, "false", "Give each customer an Overseerr or Jellyseerr account with their plan's permissions and quotas (Plans → Request apps).";
    "requests.overseerr.url", "Request apps", "Overseerr URL", Kind::Url, "", "The address of Overseerr or Jellyseerr as boxoffice reaches it, e.g. http://overseerr:5055.";
    "requests.overseerr.api_key", "Request apps", "Overseerr API key", Kind::Secret, "", "Overseerr → Settings → General → API Key. Stored encrypted; never shown again.";
    "requests.overseerr.import_users", "Request apps", "Import media-server users into Overseerr", Kind::Bool, "true", "Import the customer's Plex or Jellyfin account when Overseerr can; otherwise (or when off) a local Overseerr user is created.";
    "requests.ombi.enabled", "Request apps", "Ombi user sync enabled", Kind::Bool, "false", "Give each customer an Ombi account with their plan's roles and request limits.";
    "requests.ombi.url", "Request apps", "Ombi URL", Kind::Url, "", "The address of Ombi as boxoffice reaches it, e.g. http://ombi:3579.";
    "requests.ombi.api_key", "Request apps", "Ombi API key", Kind::Secret, "", "Ombi → Settings → Configuration → General → Api Key. Stored encrypted; never shown again.";
    "requests.petio.enabled", "Request apps", "Petio user sync enabled", Kind::Bool, "false", "Create a local Petio account for each customer and send them the credentials.";
    "requests.petio.url", "Request apps", "Petio URL", Kind::Url, "", "The address of Petio as boxoffice reaches it, e.g. http://petio:7777.";
    "requests.petio.email", "Request apps", "Petio email", Kind::Email, "", "The Petio administrator login.";
    "requests.petio.password", "Request apps", "Petio password", Kind::Secret, "", "The Petio administrator password. Stored encrypted; never shown again.";
    "requests.petio.profile", "Request apps", "Petio profile name", Kind::Text { max_len: 80 }, "", "Petio profile given to new users when their plan names none; blank = Petio's default profile.";
    "requests.on_expiry", "Request apps", "When a subscription expires", Kind::Choice(&["disable", "delete"]), "disable", "Disable the request-app account (kept for a renewal) or delete it.";
    "jobs.request_apps_sync.enabled", "Background jobs", "Sync request apps", Kind::Bool, "true", "Check every customer's request-app accounts daily and repair permissions, quotas and missing or leftover accounts.";
    "jobs.request_apps_sync.schedule", "Background jobs", "Sync request apps: schedule", Kind::Schedule, "0 5 * * *", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "enforcement.streams_enabled", "Enforcement", "Enforce stream limits", Kind::Bool, "true", "Stop the streams of a customer playing on more devices than their plan allows, across every server and platform together.";
    "enforcement.stream_policy", "Enforcement", "Over the stream limit", Kind::Choice(&["stop_all", "stop_newest", "customer_chooses"]), "stop_all", "stop_all: every stream of the customer stops (with a message on each player); stop_newest: the streams that started first keep playing up to the limit; customer_chooses: the customer gets a link to a page of their streams to pick the one(s) to stop, and when the grace period ends the newest stop.";
    "enforcement.choice_grace_minutes", "Enforcement", "Time to choose which stream ends", Kind::Int { min: 1, max: 120 }, "10", "With customer_chooses: minutes the customer has to pick the streams to stop before the newest are stopped.";
    "enforcement.confirm_readings", "Enforcement", "Readings before acting", Kind::Int { min: 1, max: 10 }, "2", "Consecutive passes a customer must be over the limit before anything is stopped, so a player reconnecting never counts twice.";
    "enforcement.transcoding_enabled", "Enforcement", "Enforce transcoding rules", Kind::Bool, "true", "Stop a video transcode when the plan does not include transcoding, or a 4K transcode on a server that does not allow it. Audio-only transcodes are never stopped.";
    "enforcement.devices_enabled", "Enforcement", "Enforce Emby device limits", Kind::Bool, "true", "Keep each Emby user within the plan's device limit: new devices are refused at the limit, and the least recently used are deleted above it.";
    "jobs.enforcement.enabled", "Background jobs", "Enforce stream and transcoding limits", Kind::Bool, "true", "Read every enabled server's live sessions and act on the plans' stream and transcoding limits.";
    "jobs.enforcement.schedule", "Background jobs", "Enforce stream and transcoding limits: schedule", Kind::Schedule, "every 5m", "An interval such as \"every 5m\" or a cron expression in UTC.";
    "jobs.payments_sync.enabled", "Background jobs", "Payment transaction sync", Kind::Bool, "true", "Read every switched-on payment gateway account for payments made outside checkout and renewals, match them to customers, and list the rest on Unmatched payments.";
    "jobs.payments_sync.schedule", "Background jobs", "Payment transaction sync: schedule", Kind::Schedule, "every 1h", "An interval such as \"every 1h\" or a cron expression in UTC.";
    "referrals.allow_registrations", "Referrals", "Allow registrations using referral codes", Kind::Bool, "false", "Even with public registration off, a person with a customer's referral link or code can register; the referrer is recorded.";
    "referrals.bonus_enabled", "Referrals", "Referral bonus enabled", Kind::Bool, "false", "Credit the referrer once, when the customer they referred makes a first payment.";
    "referrals.bonus_type", "Referrals", "Bonus type", Kind::Choice(&["days", "percentage"]), "percentage", "days: the bonus value is days added to the referrer's access; percentage: it is the share of the referred customer's first payment kept as a credit on the referrer's next payment.";
    "referrals.bonus_value", "Referrals", "Bonus value", Kind::Int { min: 0, max: 3650 }, "0", "Days (bonus type days) or percent of the first payment, at most 100 (bonus type percentage). 0 gives no bonus.";
    "referrals.bonus_min_amount", "Referrals", "Bonus minimum amount", Kind::Amount, "", "Percentage bonuses are at least this much (in the site currency); empty for no minimum.";
    "referrals.bonus_max_amount", "Referrals", "Bonus maximum amount", Kind::Amount, "", "Percentage bonuses are at most this much (in the site currency); empty for no maximum.";
    "content.home_section1_title", "Custom content", "Home page section 1: title", Kind::Text { max_len: 120 }, "", "The heading of the first section of the home page; the section is hidden when its title and text are both empty.";
    "content.home_section1_body", "Custom content", "Home page section 1: text", Kind::Text { max_len: 10_000 }, "", "Markdown: **bold**, _italic_, [links](https://example.com), lists, headings; a blank line starts a new paragraph. Scripts and raw HTML that could run code are removed.";
    "content.home_section2_title", "Custom content", "Home page section 2: title", Kind::Text { max_len: 120 }, "", "The heading of the second section of the home page.";
    "content.home_section2_body", "Custom content", "Home page section 2: text", Kind::Text { max_len: 10_000 }, "", "Markdown, as for section 1.";
    "content.show_pricing", "Custom content", "Show pricing section", Kind::Bool, "true", "The home page lists every active plan with its price and duration.";
    "content.pricing_title", "Custom content", "Pricing section: title", Kind::Text { max_len: 120 }, "Plans", "The heading above the plans on the home page.";
    "content.pricing_intro", "Custom content", "Pricing section: introduction", Kind::Text { max_len: 2_000 }, "", "A short text under the pricing heading.";
    "content.show_library_stats", "Custom content", "Show library statistics section", Kind::Bool, "true", "The home page shows how many movies, shows and episodes each synced library holds (Private libraries are never listed).";
    "content.library_stats_title", "Custom content", "Library statistics section: title", Kind::Text { max_len: 120 }, "Our libraries", "The heading above the library statistics on the home page.";
    "content.faq_title", "Custom content", "FAQ page: title", Kind::Text { max_len: 120 }, "Frequently asked questions", "The heading of the FAQ page (/faq).";
    "content.faq_body", "Custom content", "FAQ page: text", Kind::Text { max_len: 20_000 }, "", "Markdown, as for the home page sections; a \"## Question\" heading per question reads well. The FAQ is linked from every portal page when this is not empty.";
    "content.theme_accent", "Custom content", "Theme: accent colour (light)", Kind::Colour, "", "Buttons, links and switches in the light theme, as #rrggbb. Pick one dark enough for white text on it; empty keeps the design's blue.";
    "content.theme_accent_dark", "Custom content", "Theme: accent colour (dark)", Kind::Colour, "", "The same in the dark theme; pick one light enough for dark text on it.";
    "content.theme_surface", "Custom content", "Theme: background colour (light)", Kind::Colour, "", "The page background in the light theme, as #rrggbb; cards stay white.";
    "content.theme_surface_dark", "Custom content", "Theme: background colour (dark)", Kind::Colour, "", "The page background in the dark theme.";
    "content.custom_css", "Custom content", "Custom CSS", Kind::Text { max_len: 50_000 }, "", "Extra CSS served as its own stylesheet (/site/custom.css) after the design's, on every page. The design's custom properties (--accent, --surface, --radius …) can be overridden here.";
}

pub fn find(key: &str) -> Option<&'static SettingDef> {
    REGISTRY.iter().find(|d| d.key == key)
}

/// The closest declared key, for "did you mean" messages.
pub fn closest_key(key: &str) -> Option<&'static str> {
    REGISTRY
        .iter()
        .map(|d| (strsim::jaro_winkler(key, d.key), d.key))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingError {
    #[error("there is no setting \"{key}\"{}", suggestion.map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default())]
    Unknown {
        key: String,
        suggestion: Option<&'static str>,
    },
    #[error("{label}: {reason}")]
    Invalid {
        key: &'static str,
        label: &'static str,
        reason: String,
    },
}

/// Checks a value for a setting and returns its canonical stored form.
pub fn validate(def: &SettingDef, raw: &str) -> Result<String, SettingError> {
    let invalid = |reason: String| SettingError::Invalid {
        key: def.key,
        label: def.label,
        reason,
    };
    let v = raw.trim();
    if v.is_empty()
        && !matches!(
            def.kind,
            Kind::Bool | Kind::Int { .. } | Kind::Currency | Kind::Choice(_) | Kind::Schedule
        )
    {
        return Ok(String::new());
    }
    match def.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok("true".into()),
            "false" | "off" | "no" | "0" | "" => Ok("false".into()),
            _ => Err(invalid(format!("\"{v}\" is not on or off"))),
        },
        Kind::Int { min, max } => {
            let n: i64 = v
                .parse()
                .map_err(|_| invalid(format!("\"{v}\" is not a whole number")))?;
            if n < min || n > max {
                return Err(invalid(format!("{n} is outside {min} to {max}")));
            }
            Ok(n.to_string())
        }
        Kind::Text { max_len } => {
            if v.chars().count() > max_len {
                return Err(invalid(format!("at most {max_len} characters")));
            }
            Ok(v.to_string())
        }
        Kind::Secret => Ok(raw.to_string()),
        Kind::Email => Email::parse(v)
            .map(|e| e.as_str().to_string())
            .map_err(|e| invalid(e.to_string())),
        Kind::Url => {
            let rest = v
                .strip_prefix("https://")
                .or_else(|| v.strip_prefix("http://"));
            match rest {
                Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) => {
                    Ok(v.trim_end_matches('/').to_string())
                }
                _ => Err(invalid(format!(
                    "\"{v}\" is not an http:// or https:// address"
                ))),
            }
        }
        Kind::Currency => Currency::parse(v)
            .map(|c| c.to_string())
            .map_err(|e| invalid(e.to_string())),
        Kind::DayList => {
            let mut days = Vec::new();
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let d: u32 = part
                    .parse()
                    .map_err(|_| invalid(format!("\"{part}\" is not a whole number of days")))?;
                if !(1..=365).contains(&d) {
                    return Err(invalid(format!("{d} is outside 1 to 365 days")));
                }
                days.push(d);
            }
            days.sort_unstable_by(|a, b| b.cmp(a));
            days.dedup();
            Ok(days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","))
        }
        Kind::Choice(options) => {
            let lower = v.to_ascii_lowercase();
            if options.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(invalid(format!(
                    "\"{v}\" is not one of {}",
                    options.join(", ")
                )))
            }
        }
        Kind::Schedule => Schedule::parse(v)
            .map(|s| s.to_string())
            .map_err(|e| invalid(e.reason)),
        Kind::Colour => parse_colour(v).ok_or_else(|| {
            invalid(format!(
                "\"{v}\" is not a colour written as #rrggbb (e.g. #3b5bdb)"
            ))
        }),
        Kind::Amount => {
            let any = Currency::parse("XXX").map_err(|e| invalid(e.to_string()))?;
            let m = crate::Money::parse_decimal(v, any).map_err(|e| invalid(e.to_string()))?;
            if m.minor < 0 {
                return Err(invalid("an amount is not negative".into()));
            }
            Ok(format!("{}.{:02}", m.minor / 100, m.minor % 100))
        }
    }
}

/// `#rrggbb` or `#rgb` (any case) as lower-case `#rrggbb`; anything else is not a colour.
pub fn parse_colour(v: &str) -> Option<String> {
    let hex = v.trim().strip_prefix('#')?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let wide: String = match hex.len() {
        6 => hex.to_string(),
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        _ => return None,
    };
    Some(format!("#{}", wide.to_ascii_lowercase()))
}

pub fn validate_key(key: &str, raw: &str) -> Result<(&'static SettingDef, String), SettingError> {
    let def = find(key).ok_or_else(|| SettingError::Unknown {
        key: key.to_string(),
        suggestion: closest_key(key),
    })?;
    validate(def, raw).map(|v| (def, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_theme_colour_is_hex_and_stored_wide_and_lower_case() {
        let def = find("content.theme_accent").expect("declared");
        assert_eq!(validate(def, "#3B5BDB").as_deref(), Ok("#3b5bdb"));
        assert_eq!(validate(def, " #abc ").as_deref(), Ok("#aabbcc"));
        assert_eq!(validate(def, "").as_deref(), Ok(""));
        for bad in [
            "red",
            "#12345",
            "3b5bdb",
            "#3b5bdg",
            "#3b5bdb;color:red",
            "url(x)",
        ] {
            let e = validate(def, bad).expect_err(bad).to_string();
            assert!(e.contains("#rrggbb"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_default_passes_its_own_validation() {
        for d in REGISTRY {
            let v = validate(d, d.default).unwrap_or_else(|e| panic!("{}: {e}", d.key));
            if !matches!(d.kind, Kind::Schedule) {
                assert_eq!(v, d.default, "{} default is not canonical", d.key);
            }
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = REGISTRY.iter().map(|d| d.key).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len());
    }

    #[test]
    fn invalid_values_name_the_setting_and_the_reason() {
        let e = validate_key("reminders.days_prior", "7, x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Days prior: \"x\" is not a whole number of days"
        );
        assert_eq!(
            validate_key("reminders.days_prior", "1, 7,3").unwrap().1,
            "7,3,1"
        );
        assert_eq!(
            validate_key("referrals.bonus_min_amount", " 2.5 ")
                .unwrap()
                .1,
            "2.50"
        );
        assert_eq!(
            validate_key("referrals.bonus_min_amount", "-1")
                .unwrap_err()
                .to_string(),
            "Bonus minimum amount: an amount is not negative"
        );
        assert_eq!(
            validate_key("referrals.bonus_max_amount", "").unwrap().1,
            ""
        );
        let e = validate_key("email.smtp_prot", "25").unwrap_err();
        assert!(
            e.to_string().contains("did you mean \"email.smtp_port\""),
            "{e}"
        );
    }
}
