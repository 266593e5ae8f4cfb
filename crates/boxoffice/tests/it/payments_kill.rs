//! The real `boxoffice serve` killed with SIGKILL at seeded points while customers check out on
//! the fake Stripe, PayPal and Plisio hosted pages, the fakes deliver (and retry) their signed
//! webhooks, copies of those deliveries arrive again, and the job worker provisions: after
//! every restart has caught up, each gateway transaction is one payment, each customer's
//! coverage is exactly the sum of what they paid, each customer is shared once on the fake Plex
//! server, and no job is dead. On SQLite, or on PostgreSQL when TEST_DATABASE_URL is set.

use crate::helpers::{client, csrf_from, location};
use crate::lifecycle::set;
use crate::payments_webhooks::{count, customer_login, plex_shares, shop, standard};
use crate::servers::MediaTest;
use crate::stripe_storm::Rng;
use boxoffice_fakes::Delivery;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Customers checking out at once; every fourth pays a second time through another gateway.
const CUSTOMERS: usize = 6;
/// SIGKILLs during the burst.
const KILLS: usize = 4;
/// Seconds a job stays leased to a worker that died (the default is 300). Restarts find the
/// jobs a killed worker held only once this runs out.
const LEASE_SECS: &str = "2";
const DAY: i64 = 86_400;

/// One `boxoffice serve` on a fixed address, so the fakes' webhooks and the customers find it
/// again after each restart.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start(m: &MediaTest, addr: &str, n: usize) -> Serve {
        // The test's own instance holds its data directory; the served process gets one of
        // its own (the same across restarts, so each start finds its predecessor's leases),
        // with the same secret key so it can open what the test sealed.
        let dir = m.t.data_dir.join("serve");
        std::fs::create_dir_all(&dir).expect("serve data dir");
        std::fs::copy(m.t.data_dir.join("secret.key"), dir.join("secret.key")).expect("secret key");
        let log = m.t.data_dir.join(format!("serve-{n}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let mut child = crate::cli::bin()
            .args(["serve"])
            .env("BOXOFFICE_DATA_DIR", &dir)
            .env("BOXOFFICE_DATABASE_URL", m.t.db_url())
            .env("BOXOFFICE_LISTEN", addr)
            .env("BOXOFFICE_PLEX_TV_URL", m.world.plex_tv.url())
            .env("BOXOFFICE_JOBS__POLL_INTERVAL_MS", "20")
            .env("BOXOFFICE_JOBS__LEASE_SECS", LEASE_SECS)
            .env("BOXOFFICE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("serve starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        // The first line says where it listens: it is ready.
        let mut first = String::new();
        out.read_line(&mut first).expect("listen line");
        assert!(first.contains(addr), "serve did not start: {first:?}");
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Serve { child, log }
    }

    fn kill(mut self) {
        // `Child::kill` is SIGKILL: no shutdown, no lease released, transactions cut anywhere.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

type Step<T> = Result<T, String>;

/// A customer's action, repeated as a customer would (the server may be down or restarting)
/// until it succeeds; each attempt asks the server afresh.
async fn again<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Step<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(Instant::now() < deadline, "{what}: {e}");
                // A person waits a moment before trying again.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn log_in(c: &reqwest::Client, base: &str, email: &str) -> Step<()> {
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = csrf_from(&page);
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", "Cust0mer-Pass!"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        303 => Ok(()),
        s => Err(format!("login answered {s}")),
    }
}

/// Starts a checkout on the checkout page; answers the gateway's hosted page.
async fn start_checkout(c: &reqwest::Client, base: &str, provider: &str) -> Step<String> {
    let page = c
        .get(format!("{base}/checkout"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = csrf_from(&page);
    let r = c
        .post(format!("{base}/checkout"))
        .form(&[("plan_id", "1"), ("provider", provider), ("csrf", &csrf)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let to = location(&r);
    match r.status().as_u16() {
        303 if !to.starts_with(base) && !to.is_empty() => Ok(to),
        s => Err(format!(
            "checkout answered {s} {to} {}",
            r.text().await.unwrap_or_default()
        )),
    }
}

/// Pays (approves) on the fake's hosted page, as its form does; answers where the gateway sends
/// the customer back. The fakes are never killed: this succeeds the first time.
async fn pay(c: &reqwest::Client, hosted: &str, provider: &str) -> String {
    let action = if provider == "paypal" {
        "approve"
    } else {
        "pay"
    };
    let r = c
        .post(hosted)
        .form(&[("action", action)])
        .send()
        .await
        .expect("hosted page");
    assert_eq!(r.status(), 303, "{hosted}");
    location(&r)
}

/// The customer comes back to boxoffice: the return page confirms the checkout (PayPal
/// captures there) unless the webhook got there first.
async fn come_back(c: &reqwest::Client, url: &str) -> Step<()> {
    let r = c.get(url).send().await.map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        200 => Ok(()),
        s => Err(format!("return page answered {s}")),
    }
}

fn gateways_for(i: usize) -> Vec<&'static str> {
    const ALL: [&str; 3] = ["stripe", "paypal", "plisio"];
    let mut v = vec![ALL[i % 3]];
    if i.is_multiple_of(4) {
        v.push(ALL[(i + 1) % 3]);
    }
    v
}

fn all_deliveries(m: &MediaTest) -> Vec<Delivery> {
    let p = &m.world.payments;
    let mut v = p.stripe.deliveries();
    v.extend(p.paypal.deliveries());
    v.extend(p.plisio.deliveries());
    v
}

/// How far the exchange has got, as the fakes saw it: every webhook attempt and every call to
/// a gateway or to plex.tv. Kills are placed by this count, so they land between and inside
/// the same steps on a fast machine and a slow one.
fn progress(m: &MediaTest) -> usize {
    let p = &m.world.payments;
    let attempts: u32 = all_deliveries(m).iter().map(|d| d.attempts).sum();
    attempts as usize
        + p.stripe.requests().len()
        + p.paypal.requests().len()
        + p.plisio.requests().len()
        + m.world.plex_tv.requests().len()
}

/// The gateway's id of every payment the fakes took: Stripe PaymentIntents of paid sessions,
/// PayPal captures, completed Plisio invoices.
async fn gateway_transactions(m: &MediaTest) -> BTreeSet<String> {
    let p = &m.world.payments;
    let mut ids = BTreeSet::new();
    for s in p.stripe.objects_of("checkout.session") {
        if s["payment_status"] == "paid"
            && let Some(pi) = s["payment_intent"].as_str()
        {
            ids.insert(pi.to_string());
        }
    }
    let state = |url: String| async move {
        client()
            .get(format!("{url}/state"))
            .send()
            .await
            .expect("control")
            .json::<Value>()
            .await
            .expect("state")
    };
    let pp = state(p.paypal.control_url()).await;
    for o in pp["orders"].as_array().into_iter().flatten() {
        for c in o["purchase_units"][0]["payments"]["captures"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = c["id"].as_str() {
                ids.insert(id.to_string());
            }
        }
    }
    let pl = state(p.plisio.control_url()).await;
    for inv in pl["invoices"].as_array().into_iter().flatten() {
        if inv["status"] == "completed"
            && let Some(id) = inv["txn_id"].as_str()
        {
            ids.insert(id.to_string());
        }
    }
    ids
}

async fn strings(m: &MediaTest, sql: &str) -> Vec<String> {
    let sql = sql.to_string();
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar::<_, String>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(e)
    .await)
    .expect("strings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_and_webhooks_through_kill_9_record_each_payment_once_and_provision_once() {
    let (m, _) = shop().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    // The return links and Plisio's callbacks name this address; the fakes deliver to it.
    set(&m, "general.site_uri", &base).await;
    // Every customer logs in from 127.0.0.1: the per-address login limit is not under test.
    set(&m, "security.login_attempts_before_delay", "100").await;
    let p = &m.world.payments;
    // Retries come quickly and keep coming for about 30 s (the providers' own schedules run
    // for days).
    let schedule: Vec<u64> = [50, 100, 200, 400]
        .into_iter()
        .chain(std::iter::repeat_n(500, 60))
        .collect();
    p.stripe.set_webhook_url(
        Some(&format!("{base}/webhooks/stripe")),
        Some(schedule.clone()),
    );
    p.paypal.set_webhook_url(
        Some(&format!("{base}/webhooks/paypal")),
        Some(schedule.clone()),
    );
    p.plisio.set_retry_schedule(schedule);

    let emails: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("burst{i:02}@example.com"))
        .collect();
    for e in &emails {
        customer_login(&m, e).await;
    }
    let expected_payments: usize = (0..CUSTOMERS).map(|i| gateways_for(i).len()).sum();

    let started = Instant::now();
    let mut runs = 0;
    let mut serve = Serve::start(&m, &addr, runs);

    // The customers: log in, check out, pay on the hosted page, come back.
    let paid = Arc::new(AtomicUsize::new(0));
    let mut customers = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        let (base, email, paid) = (base.clone(), email.clone(), paid.clone());
        customers.push(tokio::spawn(async move {
            let c = client();
            again(&format!("{email} logs in"), || log_in(&c, &base, &email)).await;
            for provider in gateways_for(i) {
                let hosted = again(&format!("{email} checks out with {provider}"), || {
                    start_checkout(&c, &base, provider)
                })
                .await;
                let back = pay(&c, &hosted, provider).await;
                paid.fetch_add(1, Ordering::SeqCst);
                again(&format!("{email} comes back from {provider}"), || {
                    come_back(&c, &back)
                })
                .await;
            }
        }));
    }

    // Copies of deliveries already made, sent again while the server comes and goes (a
    // provider retrying after an answer it never got).
    let stop = Arc::new(AtomicBool::new(false));
    let copies = Arc::new(AtomicUsize::new(0));
    let repeater = {
        let (stop, copies, base) = (stop.clone(), copies.clone(), base.clone());
        let (stripe, paypal, plisio) = (
            p.stripe.control_url(),
            p.paypal.control_url(),
            p.plisio.control_url(),
        );
        tokio::spawn(async move {
            let c = client();
            let mut rng = Rng::new(0x0d0b_1e5e);
            while !stop.load(Ordering::SeqCst) {
                let (control, path) = match rng.next() % 3 {
                    0 => (&stripe, "stripe"),
                    1 => (&paypal, "paypal"),
                    _ => (&plisio, "plisio"),
                };
                let Ok(r) = c.get(format!("{control}/deliveries")).send().await else {
                    continue;
                };
                let done: Vec<Delivery> = r
                    .json::<Vec<Delivery>>()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|d| d.state == "delivered")
                    .collect();
                if done.is_empty() {
                    tokio::task::yield_now().await;
                    continue;
                }
                let d = &done[(rng.next() as usize) % done.len()];
                let mut req = c
                    .post(format!("{base}/webhooks/{path}"))
                    .body(d.body.clone());
                for (k, v) in &d.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                if req.send().await.is_ok() {
                    copies.fetch_add(1, Ordering::SeqCst);
                }
                // Paced, so the copies do not crowd out the deliveries they repeat.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // The kills: each after a seeded number of steps of the exchange.
    let seed = std::env::var("BOXOFFICE_PAYMENTS_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6b11_1009_u64);
    let mut rng = Rng::new(seed);
    let mut kill_points = Vec::new();
    for _ in 0..KILLS {
        let at = progress(&m) + 1 + (rng.next() % 15) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress(&m) < at {
            assert!(
                Instant::now() < deadline,
                "the exchange stopped at {} of {at}:\n{}",
                progress(&m),
                serve.tail()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        kill_points.push(at);
        serve.kill();
        runs += 1;
        serve = Serve::start(&m, &addr, runs);
    }
    eprintln!(
        "killed at exchange steps {kill_points:?}, {} payments on hosted pages so far",
        paid.load(Ordering::SeqCst)
    );

    for c in customers {
        c.await.expect("customer");
    }
    stop.store(true, Ordering::SeqCst);
    repeater.await.expect("repeater");
    // Deliveries that failed while the server was down are retried on the fakes' schedule;
    // the last server runs the jobs. Wait until everything has settled.
    for f in [
        p.stripe.control_url(),
        p.paypal.control_url(),
        p.plisio.control_url(),
    ] {
        let _ = client().post(format!("{f}/deliveries/retry")).send().await;
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let payments = count(&m, "SELECT COUNT(*) FROM payments").await as usize;
        let pending = all_deliveries(&m)
            .iter()
            .filter(|d| d.state != "delivered")
            .count();
        let busy = count(
            &m,
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND (kind LIKE 'payments.%' OR kind LIKE 'shares.%' OR kind LIKE 'share%' OR kind LIKE 'notify%')",
        )
        .await;
        let shared = emails
            .iter()
            .filter(|e| !plex_shares(&m, e).is_empty())
            .count();
        if payments >= expected_payments && pending == 0 && busy == 0 && shared == CUSTOMERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {payments} of {expected_payments} payments, {pending} deliveries pending, {busy} jobs to run, {shared} of {CUSTOMERS} shared\n{}",
            serve.tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    serve.kill();

    // One payment per gateway transaction, and exactly the transactions the gateways made.
    let recorded = strings(&m, "SELECT transaction_id FROM payments").await;
    let unique: BTreeSet<String> = recorded.iter().cloned().collect();
    assert_eq!(
        recorded.len(),
        unique.len(),
        "a transaction recorded twice: {recorded:?}"
    );
    assert_eq!(unique, gateway_transactions(&m).await);
    assert_eq!(recorded.len(), expected_payments);
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM checkouts WHERE state = 'paid'").await as usize,
        expected_payments,
        "every paid checkout is paid once"
    );

    // Each customer's coverage is the sum of their payments' periods, back to back.
    let rows = strings(
        &m,
        "SELECT c.email || ' ' || CAST(COUNT(p.id) AS TEXT) || ' ' || CAST(SUM(p.period_to - p.period_from) AS TEXT) || ' ' || CAST(c.covered_until - MIN(p.period_from) AS TEXT) FROM customers c JOIN payments p ON p.customer_id = c.id GROUP BY c.id, c.email, c.covered_until ORDER BY c.email",
    )
    .await;
    let mut coverage = BTreeMap::new();
    for r in &rows {
        let f: Vec<&str> = r.split(' ').collect();
        let n: i64 = f[1].parse().expect("count");
        let (sum, span): (i64, i64) = (f[2].parse().expect("sum"), f[3].parse().expect("span"));
        assert_eq!((sum, span), (n * 30 * DAY, n * 30 * DAY), "{r}");
        coverage.insert(f[0].to_string(), n as usize);
    }
    for (i, e) in emails.iter().enumerate() {
        assert_eq!(coverage.get(e), Some(&gateways_for(i).len()), "{e}");
        // Provisioned once: one share row, one share on plex.tv with the plan's libraries.
        assert_eq!(plex_shares(&m, e), vec![standard()], "{e}");
    }
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM shares").await as usize,
        CUSTOMERS
    );
    let dead = strings(
        &m,
        "SELECT kind || ': ' || COALESCE(last_error, '') FROM jobs WHERE state = 'dead'",
    )
    .await;
    assert!(dead.is_empty(), "dead jobs: {dead:?}");
    eprintln!(
        "{expected_payments} payments by {CUSTOMERS} customers, {} repeated deliveries, {KILLS} kills: settled in {:.1} s",
        copies.load(Ordering::SeqCst),
        elapsed.as_secs_f64()
    );
}
