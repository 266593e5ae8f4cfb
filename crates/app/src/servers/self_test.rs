//! The media self-test: every read the product relies on, and a harmless write round trip where
//! one exists, against each Plex account and server. One row per call, kept as history, so the
//! day a provider changes something shows up as a red row with what to do about it.

use super::SELF_TEST_JOB;
use super::advice::advice;
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_media::{AccessPolicy, MediaError, MediaServer, NewUser, PlexAccount};
use boxoffice_store::self_test::{self as store, NewResult, ResultRow, RunRow};
use std::future::Future;
use std::time::Instant;

/// Runs are kept this long.
const KEEP_SECS: i64 = 90 * 86_400;

/// One call's outcome before it is stored.
struct Check {
    call: &'static str,
    ok: bool,
    skipped: bool,
    status: Option<i64>,
    message: String,
    advice: String,
    latency_ms: i64,
}

impl Check {
    fn skipped(call: &'static str, why: &str) -> Self {
        Check {
            call,
            ok: true,
            skipped: true,
            status: None,
            message: format!("Skipped: {why}"),
            advice: String::new(),
            latency_ms: 0,
        }
    }
}

async fn timed<T>(
    call: &'static str,
    f: impl Future<Output = Result<T, MediaError>>,
    describe: impl FnOnce(&T) -> String,
) -> (Check, Option<T>) {
    let started = Instant::now();
    let out = f.await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match out {
        Ok(v) => (
            Check {
                call,
                ok: true,
                skipped: false,
                status: Some(200),
                message: describe(&v),
                advice: String::new(),
                latency_ms,
            },
            Some(v),
        ),
        Err(e) => (
            Check {
                call,
                ok: false,
                skipped: false,
                status: e.status().map(i64::from),
                message: e.to_string(),
                advice: advice(&e).to_string(),
                latency_ms,
            },
            None,
        ),
    }
}

fn count<T>(what: &'static str) -> impl FnOnce(&Vec<T>) -> String {
    move |v| format!("{} {what}", v.len())
}

async fn check_plex_account(client: &dyn PlexAccount) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(
        timed("account (token)", client.account(), |a| {
            format!("{} <{}>", a.username, a.email)
        })
        .await
        .0,
    );
    out.push(
        timed("Plex Pass", client.plex_pass(), |p| {
            if *p { "active" } else { "none" }.to_string()
        })
        .await
        .0,
    );
    out.push(
        timed("servers (resources)", client.servers(), count("servers"))
            .await
            .0,
    );
    out.push(
        timed(
            "pending invites",
            client.pending_invites(None),
            count("invites"),
        )
        .await
        .0,
    );
    out
}

async fn check_server(server: &dyn MediaServer, platform: Platform) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(
        timed("identity", server.check(), |i| {
            format!("{} {}", i.name, i.version)
        })
        .await
        .0,
    );
    out.push(
        timed("libraries", server.libraries(), count("libraries"))
            .await
            .0,
    );
    out.push(
        timed("users / shares", server.users(), count("users"))
            .await
            .0,
    );
    out.push(
        timed("sessions", server.sessions(), count("streams"))
            .await
            .0,
    );
    if platform == Platform::Plex {
        out.push(
            timed(
                "pending invites",
                server.pending_invites(),
                count("invites"),
            )
            .await
            .0,
        );
        out.push(Check::skipped(
            "devices",
            "Plex has no per-user device list; device limits apply to Jellyfin and Emby",
        ));
        out.push(Check::skipped(
            "write round trip",
            "Plex has no harmless write: every share change notifies a real plex.tv account",
        ));
    } else {
        out.push(Check::skipped(
            "pending invites",
            "Jellyfin and Emby have no invites",
        ));
        out.push(timed("devices", server.devices(), count("devices")).await.0);
        out.push(write_round_trip(server).await);
    }
    out
}

/// Creates a throw-away user with no library and deletes it again.
async fn write_round_trip(server: &dyn MediaServer) -> Check {
    let suffix = match crate::crypto::random_bytes::<4>() {
        Ok(b) => hex::encode(b),
        Err(e) => {
            return Check {
                call: "write round trip",
                ok: false,
                skipped: false,
                status: None,
                message: e.to_string(),
                advice: String::new(),
                latency_ms: 0,
            };
        }
    };
    let name = format!("boxoffice-selftest-{suffix}");
    let password = crate::crypto::random_token().unwrap_or_else(|_| suffix.clone());
    let who = NewUser {
        name: name.clone(),
        password: Some(password),
    };
    let started = Instant::now();
    let outcome = async {
        let user = server
            .create_user(&who, &AccessPolicy::default())
            .await
            .map_err(|e| (e, false))?;
        server
            .remove_user(&user.user_ref)
            .await
            .map_err(|e| (e, true))?;
        Ok::<_, (MediaError, bool)>(())
    };
    let outcome = outcome.await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match outcome {
        Ok(()) => Check {
            call: "write round trip",
            ok: true,
            skipped: false,
            status: Some(200),
            message: format!("created and deleted user {name}"),
            advice: String::new(),
            latency_ms,
        },
        Err((e, created)) => Check {
            call: "write round trip",
            ok: false,
            skipped: false,
            status: e.status().map(i64::from),
            message: if created {
                format!("user {name} was created but could not be deleted: {e}")
            } else {
                e.to_string()
            },
            advice: if created {
                format!(
                    "Delete the user {name} in the server's dashboard. {}",
                    advice(&e)
                )
            } else {
                advice(&e).to_string()
            },
            latency_ms,
        },
    }
}

/// A run and its rows, for the page and the API.
#[derive(Clone, Debug)]
pub struct SelfTestReport {
    pub run: RunRow,
    pub results: Vec<ResultRow>,
}

impl App {
    /// Queues a self-test run now (the "Run now" button).
    pub async fn request_self_test(&self, actor: &Actor) -> Result<i64, AppError> {
        let mut tx = self.db.begin().await?;
        let job = self
            .enqueue(
                tx.ex(),
                JobSpec::new(SELF_TEST_JOB, serde_json::json!({ "cause": "manual" })).attempts(1),
            )
            .await?;
        self.audit(tx.ex(), actor, "selftest.request", "", "")
            .await?;
        tx.commit().await?;
        Ok(job.id())
    }

    /// Runs every check and stores the results. Failed checks are results, not errors: only a
    /// database failure makes this fail.
    pub async fn run_self_test(&self, cause: &str) -> Result<i64, AppError> {
        let run = store::start_run(self.db.ex(), cause, self.now()).await?;
        for account in self.list_plex_accounts().await? {
            let key = format!("plex_account:{}", account.id);
            let target = format!("Plex account {}", account.name);
            let checks = match self.media.plex_account(self, &account) {
                Ok(client) => check_plex_account(client.as_ref()).await,
                Err(e) => vec![setup_failure(e)],
            };
            self.store_checks(run.id, &key, &target, checks).await?;
        }
        for server in self.list_servers().await? {
            let key = format!("server:{}", server.id);
            let target = format!(
                "{} {}",
                super::server_admin::platform_label(server.platform),
                server.name
            );
            // A disabled server is not called at all: one grey row says why.
            let checks = if !server.enabled {
                vec![Check::skipped("connect", "server disabled")]
            } else {
                match self.media.server(self, &server).await {
                    Ok(client) => check_server(client.as_ref(), server.platform).await,
                    Err(e) => vec![setup_failure(e)],
                }
            };
            self.store_checks(run.id, &key, &target, checks).await?;
        }
        store::finish_run(self.db.ex(), run.id, self.now()).await?;
        store::prune(self.db.ex(), self.now() - KEEP_SECS).await?;
        Ok(run.id)
    }

    async fn store_checks(
        &self,
        run_id: i64,
        key: &str,
        target: &str,
        checks: Vec<Check>,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        for c in checks {
            let before = store::previous_result(tx.ex(), run_id, key, c.call).await?;
            let was_ok = before.as_ref().is_none_or(|b| b.ok);
            if !c.ok && was_ok {
                tracing::warn!(target, call = c.call, message = %c.message, "a self-test check turned red");
                self.notify(
                    tx.ex(),
                    crate::notify::Notice::to_admin("self_test_failed", None)
                        .with("server_name", target)
                        .with(
                            "failures",
                            format!("{}: {} {}", c.call, c.message, c.advice),
                        )
                        .once(format!("selftest:{run_id}:{key}:{}", c.call)),
                )
                .await?;
                self.audit(
                    tx.ex(),
                    &Actor::system(),
                    "selftest.red",
                    &format!("{target}: {}", c.call),
                    &c.message,
                )
                .await?;
            } else if c.ok && !was_ok {
                self.audit(
                    tx.ex(),
                    &Actor::system(),
                    "selftest.green",
                    &format!("{target}: {}", c.call),
                    "",
                )
                .await?;
            }
            store::add_result(
                tx.ex(),
                run_id,
                NewResult {
                    target_key: key,
                    target,
                    call: c.call,
                    ok: c.ok,
                    skipped: c.skipped,
                    status: c.status,
                    message: &c.message,
                    advice: &c.advice,
                    latency_ms: c.latency_ms,
                    at: self.now(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest finished run with its rows; None before the first.
    pub async fn latest_self_test(&self) -> Result<Option<SelfTestReport>, AppError> {
        match store::latest_run(self.db.ex()).await {
            Ok(run) => Ok(Some(self.self_test_report(run).await?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn self_test_run(&self, id: i64) -> Result<SelfTestReport, AppError> {
        let run = store::find_run(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("self-test run"))?;
        self.self_test_report(run).await
    }

    async fn self_test_report(&self, run: RunRow) -> Result<SelfTestReport, AppError> {
        let results = store::results(self.db.ex(), run.id).await?;
        Ok(SelfTestReport { run, results })
    }

    pub async fn self_test_history(&self, limit: i64) -> Result<Vec<RunRow>, AppError> {
        Ok(store::runs(self.db.ex(), limit).await?)
    }
}

/// A client could not even be built (a secret that will not open, a bad proxy URL).
fn setup_failure(e: AppError) -> Check {
    let (status, advice_text) = match &e {
        AppError::Media(m) => (m.status().map(i64::from), advice(m).to_string()),
        AppError::Crypto(_) => (
            None,
            "The secret key changed since this was stored: restore the old key or enter the token/API key again.".to_string(),
        ),
        _ => (None, String::new()),
    };
    Check {
        call: "connect",
        ok: false,
        skipped: false,
        status,
        message: e.to_string(),
        advice: advice_text,
        latency_ms: 0,
    }
}
