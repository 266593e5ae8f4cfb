//! Times validation of a generated 10,000-row bulk-invite file (the largest accepted) against a
//! catalogue like the fixtures'. Target: ≤ 0.5 s. Run with
//! `cargo bench -p boxoffice-domain --bench bulk_invite`; the figures go in docs/performance.md.

use boxoffice_domain::bulk_invite::{
    Catalogue, CatalogueGroup, CataloguePlan, CatalogueServer, Context, MAX_ROWS, validate,
};
use boxoffice_domain::money::{Currency, Money};
use boxoffice_domain::plans::PlanDuration;
use boxoffice_domain::platform::Platform;
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn catalogue() -> Catalogue {
    let usd = Currency::parse("USD").expect("USD is a currency code");
    let server = |id, name: &str, platform, groups: &[i64]| CatalogueServer {
        id,
        name: name.into(),
        platform,
        library_group_ids: groups.to_vec(),
        free_slots: Some(20_000),
    };
    let plan = |id, name: &str, minor, groups: &[i64]| CataloguePlan {
        id,
        name: name.into(),
        cost: Money::new(minor, usd),
        duration: PlanDuration::Days(30),
        library_group_ids: groups.to_vec(),
    };
    Catalogue {
        servers: vec![
            server(1, "Plex Alpha", Platform::Plex, &[1, 2]),
            server(2, "Plex Beta", Platform::Plex, &[1, 2]),
            server(3, "Jelly One", Platform::Jellyfin, &[1]),
            server(4, "Emby One", Platform::Emby, &[1]),
        ],
        plans: vec![
            plan(1, "Basic", 500, &[1]),
            plan(2, "Premium 4K", 1000, &[1, 2]),
        ],
        groups: vec![
            CatalogueGroup {
                id: 1,
                name: "Standard".into(),
            },
            CatalogueGroup {
                id: 2,
                name: "Premium 4K".into(),
            },
        ],
    }
}

/// Every column used, quoted notes with commas, a mix of servers and plans.
fn file(rows: usize) -> Vec<u8> {
    let mut s = String::from(
        "Email,Server Name,Plan Name,Quantity,Transaction ID,Amount,Payment Date,Payment Method,Username,Permanent,Notes\n",
    );
    for i in 0..rows {
        let (server, plan, user) = match i % 4 {
            0 => ("Plex Alpha", "Premium 4K", String::new()),
            1 => ("Plex Beta", "Basic", String::new()),
            2 => ("Jelly One", "Basic", format!("user{i}")),
            _ => ("Emby One", "Basic", format!("user{i}")),
        };
        let tx = if i % 2 == 0 {
            format!("TX-{i}")
        } else {
            String::new()
        };
        let amount = if i % 3 == 0 { "15.00" } else { "" };
        s.push_str(&format!(
            "user{i}@example.com,{server},{plan},{},{tx},{amount},2026-11-{:02},PayPal,{user},false,\"Row {i}, imported\"\n",
            1 + i % 12,
            1 + i % 28,
        ));
    }
    s.into_bytes()
}

fn main() {
    let cat = catalogue();
    let existing: HashSet<String> = (0..50_000).map(|i| format!("OLD-{i}")).collect();
    let ctx = Context {
        catalogue: &cat,
        existing_transaction_ids: &existing,
        // 2026-11-28T00:00:00Z
        now: 1_795_824_000,
    };
    let bytes = file(MAX_ROWS);
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let out = validate(&bytes, &ctx);
        times.push(t.elapsed());
        match out {
            Ok(f) => assert_eq!(f.rows.len(), MAX_ROWS),
            Err(e) => panic!(
                "the generated file must be valid: {:?}",
                &e[..e.len().min(3)]
            ),
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bulk_invite validate: {} rows, {} bytes, 20 runs: min {:.1} ms, median {:.1} ms, max {:.1} ms (target ≤ 500 ms)",
        MAX_ROWS,
        bytes.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );
}
