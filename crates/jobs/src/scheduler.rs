use crate::Runner;
use boxoffice_app::AppError;
use boxoffice_app::queue::JobSpec;
use boxoffice_domain::schedule::Schedule;
use boxoffice_store::schedules;
use serde_json::json;

impl Runner {
    /// Enqueues every recurring job whose tick has come. Each tick is taken by a compare-and-set
    /// in the same transaction as the enqueue, and the job's idempotency key names the tick: two
    /// instances ticking together enqueue it once. Returns how many jobs were enqueued.
    pub async fn tick_scheduler(&self) -> Result<usize, AppError> {
        let app = &self.app;
        let settings = app.settings().await?;
        let now = app.now();
        let rows: std::collections::HashMap<String, i64> = schedules::all(app.db.ex())
            .await?
            .into_iter()
            .map(|r| (r.name, r.next_run_at))
            .collect();
        let mut enqueued = 0;
        for r in self.registry.recurring() {
            let schedule = match Schedule::parse(settings.get(&r.schedule_key())) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(job = r.name, error = %e, "recurring job has an invalid schedule; not run");
                    continue;
                }
            };
            let expected = schedule.next_after(now);
            let Some(&due) = rows.get(r.name) else {
                schedules::ensure(app.db.ex(), r.name, expected).await?;
                continue;
            };
            if due > now {
                // A schedule changed to run sooner takes effect now, not after the old tick.
                if due > expected {
                    schedules::set_next(app.db.ex(), r.name, expected).await?;
                }
                continue;
            }
            if !settings.bool(&r.enabled_key()) {
                continue;
            }
            let mut tx = app.db.begin().await?;
            if schedules::take_tick(tx.ex(), r.name, due, expected, now).await? {
                let spec = JobSpec::new(r.kind, json!({ "tick": due }))
                    .key(format!("tick:{}:{due}", r.name))
                    .attempts(3);
                app.enqueue(tx.ex(), spec).await?;
                tx.commit().await?;
                enqueued += 1;
                tracing::debug!(job = r.name, tick = due, "recurring job enqueued");
            }
        }
        Ok(enqueued)
    }
}
