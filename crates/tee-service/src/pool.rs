//! The verification pool: a fixed set of threads, one queue.
//!
//! `/attest`'s blocking part (collateral, verification, appraisal, token
//! signature) runs here, never on the async executor. Each thread takes the
//! next job as soon as it finishes one, so under load a verification
//! thread does not sleep and wake between requests (as it did with one
//! `spawn_blocking` per request behind a permit); the only hand-over left
//! per request is the answer back to the connection's task.
//!
//! A job whose request has gone (timed out, connection closed) before a
//! thread takes it is skipped. The queue is bounded by the service's
//! admission limit (`Config::max_pending`), not here.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Why a job gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolError {
    /// The job panicked (a defect; the thread goes on with the next job).
    Panicked,
    /// No thread could be started, or every one has exited.
    NoThreads,
}

/// `threads` verification threads named `tee-verify-N`.
#[derive(Debug)]
pub(crate) struct Pool {
    tx: mpsc::Sender<Job>,
    threads: usize,
}

impl Pool {
    /// Start up to `threads` threads (at least one is asked for). A thread
    /// the OS refuses is left out; [`Pool::threads`] says how many run.
    pub(crate) fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tee-verify-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job: the
                        // next thread waits for the lock, then for a job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender dropped: the service is gone.
                            Err(_) => return,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        Self {
            tx,
            threads: started,
        }
    }

    /// How many threads run.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Run `f` on a pool thread and wait for its answer. If the returned
    /// future is dropped before a thread takes the job, `f` does not run.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.threads == 0 {
            return Err(PoolError::NoThreads);
        }
        let (answer, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            if answer.is_closed() {
                return;
            }
            let r = std::panic::catch_unwind(AssertUnwindSafe(f));
            let _ = answer.send(r.map_err(|_| PoolError::Panicked));
        });
        self.tx.send(job).map_err(|_| PoolError::NoThreads)?;
        // A closed channel without an answer: the job was dropped unrun,
        // which only happens when its thread has gone.
        rx.await.unwrap_or(Err(PoolError::NoThreads))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn runs_jobs_on_named_pool_threads() {
        let pool = Pool::new(2);
        assert_eq!(pool.threads(), 2);
        let name = rt()
            .block_on(pool.run(|| std::thread::current().name().map(str::to_owned)))
            .unwrap();
        assert!(name.unwrap().starts_with("tee-verify-"));
    }

    #[test]
    fn zero_threads_asked_gives_one() {
        assert_eq!(Pool::new(0).threads(), 1);
    }

    #[test]
    fn a_panicking_job_is_an_error_and_the_thread_goes_on() {
        let pool = Pool::new(1);
        let rt = rt();
        let r = rt.block_on(pool.run(|| -> u32 { panic!("job defect") }));
        assert_eq!(r, Err(PoolError::Panicked));
        assert_eq!(rt.block_on(pool.run(|| 7)), Ok(7));
    }

    #[test]
    fn a_job_whose_caller_left_before_it_started_is_skipped() {
        let pool = Pool::new(1);
        let rt = rt();
        let ran = Arc::new(AtomicUsize::new(0));
        let (release, hold) = mpsc::channel::<()>();
        // The one thread is busy until released.
        pool.tx
            .send(Box::new(move || {
                let _ = hold.recv();
            }))
            .unwrap();
        // Queued behind the busy job, then abandoned.
        let r = ran.clone();
        let abandoned = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(50),
                pool.run(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .await
        });
        assert!(abandoned.is_err(), "the job cannot have run yet");
        release.send(()).unwrap();
        // A later job runs: the abandoned one was taken (and skipped) first.
        let r = ran.clone();
        rt.block_on(pool.run(move || {
            r.fetch_add(10, Ordering::SeqCst);
        }))
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    }
}
