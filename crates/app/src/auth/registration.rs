//! Customer registration (product §8.5, §28.1): the Registration settings decide who may join;
//! the form is checked whole, every mistake named on its field, and nothing is written until it
//! all passes. A Plex e-mail is verified on plex.tv through a configured Plex account. The login
//! (role User, unconfirmed), its customer, the referral and the confirmation e-mail are written
//! in one transaction; the login works once the link in the e-mail is followed.

use super::login::{FAILURE_MEMORY_SECS, IP_FACTOR, delay_for};
use crate::audit::Actor;
use crate::crypto::{random_token, token_hash};
use crate::notify::Notice;
use crate::settings::Settings;
use crate::subscriptions::FieldError;
use crate::subscriptions::new_customer::valid_media_username;
use crate::{App, AppError};
use boxoffice_domain::{Email, RoleKind, password, referrals as referral_rules};
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::logins::{self, NewLogin};
use boxoffice_store::registration::{self as store, Details};
use boxoffice_store::throttle::Take;
use boxoffice_store::{StoreError, plex_accounts, referrals, roles, throttle, tokens};

/// The confirmation link works for a week.
pub const CONFIRM_TTL_SECS: i64 = 7 * 86_400;
pub(crate) const CONFIRM_PURPOSE: &str = "register_confirm";

/// The registration form as typed. Empty text means "not given".
#[derive(Clone, Debug, Default)]
pub struct RegistrationForm {
    pub email: String,
    pub password: String,
    pub confirm: String,
    /// The Plex account's e-mail when it differs from the e-mail above.
    pub plex_email: String,
    /// The Jellyfin/Emby user name wanted.
    pub media_username: String,
    pub discord_username: String,
    pub discord_id: String,
    /// From the referral link's `?ref=`, or typed.
    pub referral_code: String,
}

/// Who may register now, from the Registration settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// Why nobody can register now, when nobody can.
    pub closed: Option<String>,
    pub public: bool,
    pub sharers: bool,
    pub referrals: bool,
    pub require_discord: bool,
    /// A Plex account is configured, so a Plex e-mail can be verified.
    pub plex_check: bool,
}

impl RegistrationPolicy {
    /// One sentence for the form: who may register.
    pub fn who(&self) -> &'static str {
        match (self.public, self.sharers, self.referrals) {
            (true, _, _) => "",
            (false, true, true) => {
                "Registration is open to people who already use one of our servers, and to anyone with a referral code from a member."
            }
            (false, true, false) => {
                "Registration is open to people who already use one of our servers: register with the e-mail (or Plex e-mail) you use there."
            }
            (false, false, true) => "Registration needs a referral code from a member.",
            (false, false, false) => "",
        }
    }
}

#[derive(Debug)]
pub enum RegisterError {
    /// Registration is closed; nothing was read.
    Closed(String),
    /// Bad input: nothing was written.
    Fields(Vec<FieldError>),
    Throttled {
        retry_after: i64,
    },
    Failed(AppError),
}

impl From<AppError> for RegisterError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, message } => {
                RegisterError::Fields(vec![FieldError { field, message }])
            }
            AppError::Throttled { retry_after } => RegisterError::Throttled { retry_after },
            other => RegisterError::Failed(other),
        }
    }
}

impl From<StoreError> for RegisterError {
    fn from(e: StoreError) -> Self {
        RegisterError::Failed(e.into())
    }
}

/// A registration written: the confirmation e-mail is queued.
#[derive(Clone, Debug)]
pub struct Registered {
    pub login_id: i64,
    pub customer_id: i64,
    pub email: String,
    /// The referrer's customer id, when a referral code was recorded.
    pub referred_by: Option<i64>,
}

pub(crate) fn policy_from(settings: &Settings, plex_check: bool) -> RegistrationPolicy {
    let public = settings.bool("registration.public");
    let sharers = settings.bool("registration.sharers_allowed");
    let referrals = settings.bool("referrals.allow_registrations");
    let closed = if !settings.bool("registration.enabled") {
        Some(
            "Registrations are closed at the moment. Contact the site owner if you were invited."
                .to_string(),
        )
    } else if !public && !sharers && !referrals {
        Some("Registrations are closed to the public at the moment. Contact the site owner if you were invited.".to_string())
    } else if !settings.bool("email.enabled") {
        Some("Registrations cannot be taken right now: this site cannot send the confirmation e-mail yet. Try again later.".to_string())
    } else {
        None
    };
    RegistrationPolicy {
        closed,
        public,
        sharers,
        referrals,
        require_discord: settings.bool("registration.require_discord"),
        plex_check,
    }
}

/// Builds an absolute link on the Site URI (a relative one when the Site URI is not set).
pub(crate) fn site_link(settings: &Settings, path: &str) -> String {
    format!(
        "{}{path}",
        settings
            .get("general.site_uri")
            .trim()
            .trim_end_matches('/')
    )
}

impl App {
    pub async fn registration_policy(&self) -> Result<RegistrationPolicy, AppError> {
        let settings = self.settings().await?;
        let plex = !plex_accounts::list(self.db.ex()).await?.is_empty();
        Ok(policy_from(&settings, plex))
    }

    /// Counts one attempt from `ip` against `scope`; `Err(Throttled)` once there were too many.
    pub(crate) async fn take_attempt(
        &self,
        scope: &str,
        ip: &str,
        settings: &Settings,
    ) -> Result<(), AppError> {
        let now = self.now();
        let limit = settings.int("security.login_attempts_before_delay").max(1) * IP_FACTOR;
        let key = format!("{scope}:ip:{ip}");
        let mut tx = self.db.begin().await?;
        if let Take::Locked { until } =
            throttle::take(tx.ex(), &key, now, FAILURE_MEMORY_SECS, |n| {
                delay_for(n, limit)
            })
            .await?
        {
            drop(tx);
            return Err(AppError::Throttled {
                retry_after: (until - now).max(1),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Registers a customer: see the module documentation.
    pub async fn register(
        &self,
        form: &RegistrationForm,
        ip: &str,
    ) -> Result<Registered, RegisterError> {
        let settings = self.settings().await?;
        let policy = self.registration_policy().await?;
        if let Some(why) = policy.closed {
            return Err(RegisterError::Closed(why));
        }
        self.take_attempt("register", ip, &settings).await?;

        let mut errors: Vec<FieldError> = Vec::new();
        let mut bad = |field: &'static str, message: String| {
            if !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError { field, message });
            }
        };
        let email = match Email::parse(&form.email) {
            Ok(e) => Some(e),
            Err(e) => {
                bad("email", e.to_string());
                None
            }
        };
        if let Err(e) = password::check(&form.password) {
            bad("password", e.to_string());
        } else if form.password != form.confirm {
            bad(
                "confirm",
                "The two passwords differ: type the same password twice.".into(),
            );
        }
        let plex_email = match form.plex_email.trim() {
            "" => None,
            raw => match Email::parse(raw) {
                Ok(e) => Some(e),
                Err(e) => {
                    bad("plex_email", format!("The Plex e-mail: {e}"));
                    None
                }
            },
        };
        let username = form.media_username.trim();
        if !username.is_empty() && !valid_media_username(username) {
            bad(
                "media_username",
                "A user name has letters, digits, spaces and - _ ' . @ + only (at most 64), with no space at either end.".into(),
            );
        }
        let discord_username = form.discord_username.trim();
        let discord_id = form.discord_id.trim();
        if policy.require_discord && discord_username.is_empty() {
            bad("discord_username", "Enter your Discord username.".into());
        }
        if discord_username.chars().count() > 64 {
            bad(
                "discord_username",
                "A Discord username has at most 64 characters.".into(),
            );
        }
        if policy.require_discord && discord_id.is_empty() {
            bad(
                "discord_id",
                "Enter your numeric Discord ID (Discord → Settings → Advanced → Developer Mode, then right-click your name → Copy User ID).".into(),
            );
        } else if !discord_id.is_empty()
            && (!discord_id.chars().all(|c| c.is_ascii_digit())
                || !(15..=20).contains(&discord_id.len()))
        {
            bad(
                "discord_id",
                "A Discord ID is the 15 to 20 digit number Discord shows with Developer Mode on (Copy User ID), not your name.".into(),
            );
        }

        // The referral code, when one is given, must be a member's.
        let raw_code = form.referral_code.trim();
        let mut referrer = None;
        if !raw_code.is_empty() {
            if !policy.public && !policy.referrals {
                bad(
                    "referral_code",
                    "This site does not take registrations with referral codes at the moment."
                        .into(),
                );
            } else {
                match referral_rules::normalise_code(raw_code) {
                    Some(code) => match referrals::owner_of(self.db.ex(), &code).await? {
                        Some(owner) => referrer = Some(owner),
                        None => bad(
                            "referral_code",
                            format!(
                                "\"{raw_code}\" is not a referral code: check the link you were given."
                            ),
                        ),
                    },
                    None => bad(
                        "referral_code",
                        format!(
                            "\"{raw_code}\" is not a referral code: check the link you were given."
                        ),
                    ),
                }
            }
        }

        // The e-mail: not used by a login already, and allowed by the settings.
        let mut existing_customer = None;
        if let Some(email) = &email {
            let key = email.normalized();
            match logins::find_by_email_key(self.db.ex(), &key).await {
                Ok(_) => bad(
                    "email",
                    "An account with this e-mail already exists: log in, or use \"Forgot your password?\" on the login page.".into(),
                ),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            match customers::find_by_email_key(self.db.ex(), &key).await {
                Ok(c) => {
                    if store::login_of_customer(self.db.ex(), c.id)
                        .await?
                        .is_some()
                    {
                        bad("email", "An account with this e-mail already exists: log in, or use \"Forgot your password?\" on the login page.".into());
                    }
                    existing_customer = Some(c);
                }
                Err(StoreError::NotFound) => {
                    // An imported sharer known by their Plex e-mail registering with it.
                    if let Some(id) = store::unlinked_by_plex_email(self.db.ex(), &key).await? {
                        existing_customer = Some(customers::find(self.db.ex(), id).await?);
                    }
                }
                Err(e) => return Err(e.into()),
            }
            let let_in = policy.public || (policy.referrals && referrer.is_some());
            if !let_in {
                let mut sharer =
                    policy.sharers && store::is_current_sharer(self.db.ex(), &key).await?;
                if policy.sharers
                    && !sharer
                    && let Some(p) = &plex_email
                {
                    sharer = store::is_current_sharer(self.db.ex(), &p.normalized()).await?;
                }
                if !sharer {
                    let why = match (policy.sharers, policy.referrals) {
                        (true, true) => {
                            "Registration is open to people who already use one of our servers, or who have a referral code: this e-mail is not on any of our servers."
                        }
                        (true, false) => {
                            "Registration is open to people who already use one of our servers: this e-mail (and Plex e-mail) is not on any of them."
                        }
                        _ => {
                            "Registration needs a referral code from a member: enter the code or follow their link."
                        }
                    };
                    if policy.referrals && !policy.sharers {
                        bad("referral_code", why.into());
                    } else {
                        bad("email", why.into());
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(RegisterError::Fields(errors));
        }
        let Some(email) = email else {
            return Err(RegisterError::Failed(AppError::Internal(
                "e-mail checked above".into(),
            )));
        };

        // plex.tv is asked last, once everything else is right.
        if let Some(p) = &plex_email {
            self.verify_plex_email(p.as_str()).await?;
        }

        let hash = self.hash_password(&form.password).await?;
        let now = self.now();
        let token = random_token().map_err(AppError::from)?;
        let mut tx = self.db.begin().await?;
        let role = roles::find_builtin(tx.ex(), RoleKind::User).await?;
        let login = logins::insert(
            tx.ex(),
            NewLogin {
                email: email.as_str(),
                email_key: &email.normalized(),
                password_hash: &hash,
                role_id: role.id,
                email_confirmed: false,
                now,
            },
        )
        .await
        .map_err(|e| {
            if e.is_conflict() {
                RegisterError::Fields(vec![FieldError {
                    field: "email",
                    message: "An account with this e-mail already exists: log in, or use \"Forgot your password?\" on the login page.".into(),
                }])
            } else {
                e.into()
            }
        })?;
        let customer_id = match &existing_customer {
            Some(c) => c.id,
            None => {
                customers::insert(
                    tx.ex(),
                    NewCustomer {
                        email: email.as_str(),
                        email_key: &email.normalized(),
                        plex_email: "",
                        jellyfin_username: "",
                        emby_username: "",
                        paypal_email: "",
                        permanent: false,
                        plan_id: None,
                        now,
                    },
                )
                .await?
                .id
            }
        };
        store::link_login(tx.ex(), customer_id, login.id, now)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => RegisterError::Fields(vec![FieldError {
                    field: "email",
                    message: "An account with this e-mail already exists: log in, or use \"Forgot your password?\" on the login page.".into(),
                }]),
                e => e.into(),
            })?;
        let plex = plex_email
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        // Without a user name of their own, a customer's Jellyfin and Emby user is named by
        // their e-mail (as checkout names a customer it creates), so a Jellyfin or Emby server
        // can take them; Plex needs the Plex e-mail they give.
        let media_username = if username.is_empty() {
            email.as_str()
        } else {
            username
        };
        store::fill_details(
            tx.ex(),
            customer_id,
            &Details {
                plex_email: &plex,
                jellyfin_username: media_username,
                emby_username: media_username,
                discord_username,
                discord_id,
            },
            now,
        )
        .await?;
        let referred_by = if raw_code.is_empty() {
            None
        } else {
            self.record_referral_in_tx(tx.ex(), customer_id, raw_code)
                .await
                .map_err(|e| match e {
                    AppError::Invalid { message, .. } => RegisterError::Fields(vec![FieldError {
                        field: "referral_code",
                        message,
                    }]),
                    e => e.into(),
                })?
        };
        tokens::insert_email_token(
            tx.ex(),
            Some(login.id),
            CONFIRM_PURPOSE,
            &token_hash(&token),
            now,
            now + CONFIRM_TTL_SECS,
        )
        .await?;
        let queued = self
            .notify(
                tx.ex(),
                Notice::to_address("site_login_confirmation", email.as_str()).with(
                    "confirm_url",
                    site_link(&settings, &format!("/register/confirm/{token}")),
                ),
            )
            .await?;
        if queued == 0 {
            // Without the e-mail the login could never be used: write nothing.
            return Err(RegisterError::Closed(
                "Registrations cannot be taken right now: the confirmation e-mail is switched off. Try again later.".into(),
            ));
        }
        let actor = Actor {
            login_id: Some(login.id),
            label: email.as_str().to_string(),
            ip: ip.to_string(),
        };
        let detail = match referred_by {
            Some(r) => format!("customer {customer_id}, referred by customer {r}"),
            None => format!("customer {customer_id}"),
        };
        self.audit(tx.ex(), &actor, "login.register", email.as_str(), &detail)
            .await?;
        tx.commit().await?;
        Ok(Registered {
            login_id: login.id,
            customer_id,
            email: email.as_str().to_string(),
            referred_by,
        })
    }

    /// Asks plex.tv, through the first configured Plex account, whether `email` is a Plex account.
    async fn verify_plex_email(&self, email: &str) -> Result<(), RegisterError> {
        let accounts = plex_accounts::list(self.db.ex()).await?;
        let Some(row) = accounts.first() else {
            return Err(RegisterError::Fields(vec![FieldError {
                field: "plex_email",
                message: "This site has no Plex server to check a Plex e-mail with: leave the Plex e-mail empty.".into(),
            }]));
        };
        let client = self.media.plex_account(self, row)?;
        match client.user_exists(email).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(RegisterError::Fields(vec![FieldError {
                field: "plex_email",
                message: format!(
                    "plex.tv knows no account with the e-mail {email}: create it on plex.tv first, or enter the e-mail of your Plex account."
                ),
            }])),
            Err(e) => {
                tracing::warn!(error = %e, "plex.tv check at registration failed");
                Err(RegisterError::Fields(vec![FieldError {
                    field: "plex_email",
                    message: "plex.tv could not be asked about this e-mail just now: try again in a few minutes.".into(),
                }]))
            }
        }
    }

    /// Follows a confirmation link: the login can log in from now on. Answers its e-mail.
    pub async fn confirm_registration(&self, token: &str, ip: &str) -> Result<String, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let t = tokens::consume_email_token(tx.ex(), &token_hash(token), CONFIRM_PURPOSE, now)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::Unauthorized(
                    "This confirmation link has expired or was already used. If you confirmed already, log in; otherwise register again.".into(),
                ),
                e => e.into(),
            })?;
        let login_id = t
            .login_id
            .ok_or_else(|| AppError::Internal("confirmation token without a login".into()))?;
        store::confirm_login_email(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        let login = logins::find(tx.ex(), login_id).await?;
        let actor = Actor {
            login_id: Some(login_id),
            label: login.email.clone(),
            ip: ip.to_string(),
        };
        self.audit(tx.ex(), &actor, "login.confirmed", &login.email, "")
            .await?;
        tx.commit().await?;
        Ok(login.email)
    }
}
