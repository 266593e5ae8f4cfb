//! Password hashing with argon2id, run off the async threads and bounded by a [`Gate`].
//!
//! Each hash or check holds 19 MiB for its whole run, and logins need no authentication, so the
//! number running at once is what stands between a flood of logins and the process's memory.
//! Every argon2 use goes through [`App::hash_password`] and [`App::verify_password`], which pass
//! the gate first.

use crate::{App, AppError};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Version};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for Params {
    /// OWASP's first argon2id configuration: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
        }
    }
}

/// Seconds a caller turned away by a full gate is told to wait: one check takes well under that.
pub const BUSY_RETRY_AFTER_SECS: i64 = 1;

type Job = Box<dyn FnOnce() + Send>;

/// Admits at most `slots` password hashes at once and lets at most `queue` more wait for a slot;
/// anyone beyond that is refused at once rather than queued without limit.
///
/// Admitted hashes run on `slots` threads of the gate's own, not on the shared blocking pool:
/// the allocator keeps a freed 19 MiB block for the thread that freed it, so hashes spread over
/// many pool threads would leave that much resident per thread. On a few threads of their own
/// the memory stays at `slots` blocks however many logins arrive.
#[derive(Debug)]
pub struct Gate {
    slots: Arc<Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
    size: usize,
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// One admitted hash. The job holds it until the hash is done, even if the request that started
/// it has gone away, so an abandoned request still counts until its memory is freed.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Takes back a queue place however the wait ends (a slot, or the caller giving up).
struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gate {
    /// `slots` is raised to at least 1. The threads end when the gate is dropped.
    pub fn new(slots: usize, queue: usize) -> Self {
        let size = slots.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..size {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(size)),
            queue,
            waiting: AtomicUsize::new(0),
            size,
            jobs: Mutex::new(tx),
        }
    }

    /// One slot per CPU (hashing is CPU-bound, more at once would only wait on each other) and
    /// four waiting per slot.
    pub fn for_this_machine() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cpus, cpus * 4)
    }

    pub fn slots(&self) -> usize {
        self.size
    }

    /// A slot now, a slot after waiting in the queue, or `Busy` when the queue is full.
    pub async fn enter(&self) -> Result<Slot, AppError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(Slot(p));
        }
        self.waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (w < self.queue).then_some(w + 1)
            })
            .map_err(|_| AppError::Busy {
                retry_after: BUSY_RETRY_AFTER_SECS,
            })?;
        let _place = QueuePlace(&self.waiting);
        let p = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the password gate was closed".into()))?;
        Ok(Slot(p))
    }

    /// A slot only if one is free now; what tests use to occupy the gate.
    pub fn try_enter(&self) -> Option<Slot> {
        self.slots.clone().try_acquire_owned().ok().map(Slot)
    }

    /// Runs `work` on the gate's threads; the slot is given back when it is done.
    async fn run<T: Send + 'static>(
        &self,
        slot: Slot,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = work();
            // Free before answering, so the caller's next hash finds the slot free.
            drop(slot);
            let _ = tx.send(out);
        });
        self.jobs
            .lock()
            .map_err(|_| AppError::Internal("the password hashing queue is poisoned".into()))?
            .send(job)
            .map_err(|_| AppError::Internal("the password hashing threads have stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Internal("a password hashing job was lost".into()))
    }
}

thread_local! {
    /// The argon2 working memory of one hashing thread, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `blocks` KiB of this thread's kept working memory. Reusing one block per thread
/// is what holds the resident size at `slots` × 19 MiB: a fresh allocation per hash is left
/// fragmented by the allocator and the process keeps growing.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::new());
        }
        f(&mut m[..blocks])
    })
}

fn argon2_params(p: Params) -> Result<argon2::Params, String> {
    argon2::Params::new(p.memory_kib, p.iterations, 1, Some(32)).map_err(|e| e.to_string())
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), as argon2's own hasher writes it.
fn hash_now(password: &[u8], p: Params) -> Result<String, String> {
    let params = argon2_params(p)?;
    let salt_bytes = crate::crypto::random_bytes::<16>().map_err(|e| e.to_string())?;
    let salt = Salt::new(&salt_bytes).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password, &salt, &mut out, m)
    })
    .map_err(|e| e.to_string())?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    }
    .to_string())
}

/// Whether `password` gives the hash in `phc`, with that hash's own algorithm and cost.
fn matches_now(password: &[u8], phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&h.salt, &h.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(h.algorithm.as_str()) else {
        return false;
    };
    let version = match h.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&h) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password, salt, &mut out, m)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| &o == expected)
}

async fn hash(gate: &Gate, slot: Slot, password: &str, p: Params) -> Result<String, AppError> {
    let pw = password.to_string();
    gate.run(slot, move || hash_now(pw.as_bytes(), p))
        .await?
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// With `None` for the hash it does the same work against a throw-away hash, so "no such login"
/// takes as long as "wrong password".
async fn verify(
    gate: &Gate,
    slot: Slot,
    password: &str,
    hash: Option<&str>,
    p: Params,
) -> Result<bool, AppError> {
    let pw = password.to_string();
    let stored = hash.map(str::to_string);
    gate.run(slot, move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy =
            DUMMY.get_or_init(|| hash_now(b"boxoffice-timing-equaliser", p).unwrap_or_default());
        let target = stored.as_deref().unwrap_or(dummy);
        let ok = matches_now(pw.as_bytes(), target);
        ok && stored.is_some()
    })
    .await
}

impl App {
    /// The argon2id hash of a new password, once the gate admits it.
    pub async fn hash_password(&self, password: &str) -> Result<String, AppError> {
        let slot = self.password_gate.enter().await?;
        hash(&self.password_gate, slot, password, self.password_params).await
    }

    /// Whether `password` matches `hash` (`None`: no such login, checked all the same). Fails
    /// only with `Busy` when the gate's queue is full.
    pub async fn verify_password(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> Result<bool, AppError> {
        let slot = self.password_gate.enter().await?;
        verify(
            &self.password_gate,
            slot,
            password,
            hash,
            self.password_params,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Params::default();
        let g = Gate::new(1, 0);
        let h = hash(&g, g.enter().await.unwrap(), "Corr3ct-Horse", p)
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        let check = |pw: &'static str, h: Option<String>| {
            let g = &g;
            async move {
                let slot = g.enter().await.unwrap();
                verify(g, slot, pw, h.as_deref(), p).await.unwrap()
            }
        };
        assert!(check("Corr3ct-Horse", Some(h.clone())).await);
        assert!(!check("wrong", Some(h)).await);
        assert!(!check("Corr3ct-Horse", None).await);
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            argon2::Params::new(19_456, 2, 1, None).unwrap(),
        )
        .hash_password(b"Corr3ct-Horse")
        .unwrap()
        .to_string();
        assert!(matches_now(b"Corr3ct-Horse", &theirs));
        assert!(!matches_now(b"corr3ct-Horse", &theirs));
        let ours = hash_now(b"Corr3ct-Horse", Params::default()).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(!matches_now(b"Corr3ct-Horse", "not a hash"));
    }

    #[tokio::test]
    async fn a_full_gate_turns_callers_away_beyond_its_queue() {
        let g = Arc::new(Gate::new(1, 1));
        let held = g.try_enter().expect("a free slot");
        // The one queue place: this caller waits.
        let waiter = tokio::spawn({
            let g = g.clone();
            async move { g.enter().await.map(|_| ()) }
        });
        while g.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Slot taken, queue full: refused at once with a time to come back.
        assert!(matches!(
            g.enter().await,
            Err(AppError::Busy { retry_after: 1 })
        ));
        drop(held);
        waiter
            .await
            .unwrap()
            .expect("the waiter gets the freed slot");
        assert_eq!(g.waiting.load(Ordering::SeqCst), 0);
        assert!(g.try_enter().is_some());
    }
}
