//! The desk's periodic jobs under one runner, safe with several `serve`
//! processes on one database.
//!
//! Each job (response-time sweep, coordination sweep, notification fan-out,
//! transparency log, message delivery) runs only on the node that holds its
//! lease (a row in `leases`: job name, holder, expiry). A node asks for the
//! lease at each of the job's ticks; the holder renews it every third of
//! the lease while it lives, running or not, so a job stays on one node; a
//! node that dies stops renewing and, once its lease ran out, the next node
//! to ask takes the job over. A graceful stop lets every running job finish,
//! then releases the node's leases so another node takes over at once.
//!
//! With the defaults (30 s leases) a dead node's jobs resume elsewhere within
//! 35 s (every-tick jobs) or 90 s (the minute sweeps).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use cnadesk_app::App;
use cnadesk_core::Clock;
use cnadesk_store::Store;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// How often the fan-out, the transparency log and delivery run.
pub const TICK: Duration = Duration::from_secs(5);

/// `[nodes]`: several `serve` processes on one database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodesConfig {
    /// This node's name in the leases and logs; unset: the host name and
    /// the process id. (A random suffix per process keeps two processes
    /// with one name apart.)
    pub name: Option<String>,
    /// Seconds a periodic job's lease lasts unless its node renews it.
    pub lease_seconds: u64,
    /// Seconds a CVE Services call holds its job unless its node renews it.
    pub cve_lease_seconds: u64,
}

impl Default for NodesConfig {
    fn default() -> Self {
        NodesConfig {
            name: None,
            lease_seconds: 30,
            cve_lease_seconds: cnadesk_cve_workflow::DEFAULT_LEASE.as_secs(),
        }
    }
}

impl NodesConfig {
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if !(1..=300).contains(&self.lease_seconds) {
            bail!("invalid configuration: nodes.lease_seconds must be between 1 and 300");
        }
        if !(1..=600).contains(&self.cve_lease_seconds) {
            bail!("invalid configuration: nodes.cve_lease_seconds must be between 1 and 600");
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
                bail!("invalid configuration: nodes.name must be 1 to 100 printable characters");
            }
        }
        Ok(())
    }

    /// The periodic jobs' lease.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }

    /// The CVE workflow's lease.
    pub fn cve_lease(&self) -> Duration {
        Duration::from_secs(self.cve_lease_seconds)
    }

    /// This process's holder name: the node's name and a random suffix.
    pub fn holder(&self) -> String {
        let name = self.name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .or_else(|| std::env::var("HOSTNAME").ok())
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "node".to_owned());
            format!("{host}-{}", std::process::id())
        });
        format!("{}/{:08x}", name.trim(), rand::random::<u32>())
    }
}

type Run = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

struct Job {
    name: &'static str,
    every: Duration,
    run: Run,
}

/// Named periodic jobs, each under its lease.
pub struct Runner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: String,
    lease: Duration,
    jobs: Vec<Job>,
}

/// The runner's tasks; [`Running::shutdown`] stops them gracefully.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Runner {
    /// A runner for the node `holder`, with leases of `lease`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        holder: String,
        lease: Duration,
    ) -> Self {
        Runner {
            store,
            clock,
            holder,
            lease: lease.max(Duration::from_millis(300)),
            jobs: Vec::new(),
        }
    }

    /// Adds a job run every `every` (at once on start) by the lease holder.
    pub fn job<F, Fut>(mut self, name: &'static str, every: Duration, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.jobs.push(Job {
            name,
            every,
            run: Arc::new(move || Box::pin(run())),
        });
        self
    }

    /// The desk's jobs, as `serve` runs them.
    pub fn with_desk_jobs(self, app: &App) -> Self {
        let with = |f: fn(App) -> BoxFuture<'static, ()>| {
            let app = app.clone();
            move || f(app.clone())
        };
        let minute = Duration::from_secs(60);
        self.job(
            "response-times",
            minute,
            with(|s| Box::pin(response_times(s))),
        )
        .job("coordination", minute, with(|s| Box::pin(coordination(s))))
        .job("case-lifecycle", TICK, with(|s| Box::pin(lifecycle(s))))
        .job("notify-fan-out", TICK, with(|s| Box::pin(fan_out(s))))
        .job(
            "transparency-log",
            TICK,
            with(|s| Box::pin(transparency(s))),
        )
        .job("deliver-messages", TICK, with(|s| Box::pin(deliver(s))))
    }

    /// Starts one task per job.
    pub fn start(self) -> Running {
        let (stop, stopped) = watch::channel(false);
        tracing::info!(node = %self.holder, lease_s = self.lease.as_secs_f64(), jobs = self.jobs.len(), "periodic jobs run under leases");
        let lease = Lease {
            store: self.store,
            clock: self.clock,
            holder: Arc::from(self.holder),
            duration: self.lease,
        };
        let tasks = self
            .jobs
            .into_iter()
            .map(|job| tokio::spawn(run_job(lease.clone(), job, stopped.clone())))
            .collect();
        Running { stop, tasks }
    }
}

impl Running {
    /// Stops every job: a job that is running finishes first (nothing is
    /// cut off mid-flight); then the node's leases are released.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Stops the tasks where they are and keeps the leases, as a process
    /// killed with SIGKILL would.
    #[cfg(test)]
    fn kill(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// One node's side of a job's lease.
#[derive(Clone)]
struct Lease {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    holder: Arc<str>,
    duration: Duration,
}

impl Lease {
    /// Takes or renews the lease; `held` is whether this node held it.
    async fn take(&self, job: &str, held: bool) -> bool {
        let now = self.clock.now().as_millisecond();
        let until = now + i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX / 2);
        match self.store.take_lease(job, &self.holder, until, now).await {
            Ok(true) => {
                if !held {
                    tracing::info!(job, node = %self.holder, "took the lease of a periodic job");
                }
                true
            }
            Ok(false) => {
                if held {
                    tracing::warn!(job, node = %self.holder, "another node took the lease of this periodic job (this node stalled longer than the lease)");
                }
                false
            }
            Err(e) => {
                tracing::warn!(job, node = %self.holder, error = %e, "cannot take or renew a periodic job's lease");
                false
            }
        }
    }

    async fn release(&self, job: &str) {
        if let Err(e) = self.store.release_lease(job, &self.holder).await {
            tracing::warn!(job, error = %e, "cannot release a periodic job's lease; it runs out by itself");
        }
    }
}

async fn run_job(lease: Lease, job: Job, mut stop: watch::Receiver<bool>) {
    let beat_every = lease.duration / 3;
    let mut tick = tokio::time::interval(job.every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut beat = tokio::time::interval_at(Instant::now() + beat_every, beat_every);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut held = false;
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => {}
            _ = tick.tick() => {
                held = lease.take(job.name, held).await;
                if held {
                    held = run_once(&lease, &job).await;
                    beat.reset();
                }
            }
            _ = beat.tick(), if held => {
                held = lease.take(job.name, held).await;
            }
        }
    }
    if held {
        lease.release(job.name).await;
    }
}

/// Runs the job once while renewing its lease; returns whether the lease is
/// still this node's. A lost lease does not cut the run off.
async fn run_once(lease: &Lease, job: &Job) -> bool {
    let started = Instant::now();
    tracing::debug!(job = job.name, node = %lease.holder, "periodic job started");
    let run = (job.run)();
    tokio::pin!(run);
    let beat_every = lease.duration / 3;
    let mut beat = tokio::time::interval_at(Instant::now() + beat_every, beat_every);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut held = true;
    loop {
        tokio::select! {
            () = &mut run => break,
            _ = beat.tick(), if held => {
                held = lease.take(job.name, true).await;
            }
        }
    }
    tracing::debug!(
        job = job.name,
        node = %lease.holder,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "periodic job finished"
    );
    held
}

/// Response-time clocks: warn, hand on, offer.
async fn response_times(app: App) {
    match cnadesk_app::team::sweep(&app).await {
        Ok(s) if s != cnadesk_app::team::Sweep::default() => tracing::info!(
            warnings = s.warnings,
            escalations = s.escalations,
            breaches = s.breaches,
            offered = s.offered,
            "response-time sweep"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "response-time sweep failed"),
    }
}

/// Embargoes: lift at the end (also catching up after a restart), publish,
/// remind vendors who have not answered.
async fn coordination(app: App) {
    match cnadesk_app::coordination::sweep(&app).await {
        Ok(s) if s != cnadesk_app::coordination::Sweep::default() => tracing::info!(
            lifted = s.lifted,
            publications = s.publications,
            reminders = s.reminders,
            "coordination sweep"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "coordination sweep failed"),
    }
}

/// The audit log fanned out to the outbox.
/// Cases follow their events (an ID reserved, a record published, …).
async fn lifecycle(app: App) {
    if let Err(e) = cnadesk_app::lifecycle::follow(&app).await {
        tracing::error!(error = %e, "the case life cycle could not read its events");
    }
}

async fn fan_out(app: App) {
    if let Err(e) = cnadesk_app::notify::fan_out(&app).await {
        tracing::error!(error = %e, "notification fan-out failed");
    }
}

/// Decisions into the public log; what may now be read, revealed.
async fn transparency(app: App) {
    match cnadesk_app::transparency::sweep(&app).await {
        Ok((0, 0)) => {}
        Ok((appended, revealed)) => {
            tracing::info!(appended, revealed, "transparency log updated")
        }
        Err(e) => tracing::error!(error = %e, "transparency log update failed"),
    }
}

/// Queued messages sent.
async fn deliver(app: App) {
    match cnadesk_app::notify::deliver_due(&app).await {
        Ok(d) if d.sent + d.retried + d.failed > 0 => tracing::info!(
            sent = d.sent,
            retried = d.retried,
            failed = d.failed,
            "messages delivered"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "message delivery failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnadesk_core::SystemClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Runs of one job: (runner, start, end) and the most that ran at once.
    #[derive(Default)]
    struct Log {
        runs: Mutex<Vec<(&'static str, Instant, Instant)>>,
        in_flight: AtomicUsize,
        most: AtomicUsize,
    }

    fn runner(
        store: Arc<dyn Store>,
        who: &'static str,
        log: Arc<Log>,
        lease: Duration,
        work: Duration,
    ) -> Runner {
        Runner::new(store, Arc::new(SystemClock), who.to_owned(), lease).job(
            "test-job",
            Duration::from_millis(20),
            move || {
                let log = log.clone();
                async move {
                    // Counted down also when the run is killed mid-way.
                    struct Flight(Arc<Log>);
                    impl Drop for Flight {
                        fn drop(&mut self) {
                            self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                    let start = Instant::now();
                    let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    log.most.fetch_max(now, Ordering::SeqCst);
                    let flight = Flight(log.clone());
                    tokio::time::sleep(work).await;
                    drop(flight);
                    log.runs.lock().unwrap().push((who, start, Instant::now()));
                }
            },
        )
    }

    async fn store(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(
            cnadesk_store_sql::open(
                &cnadesk_store_sql::sqlite_url_in(dir),
                cnadesk_store_sql::Migrate::Apply,
            )
            .await
            .unwrap(),
        )
    }

    /// Polls `done` until it holds (at most 20 s).
    async fn wait_for(done: impl Fn() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "{what}: not within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn ran_by(log: &Log, who: &str, after: Instant) -> usize {
        let runs = log.runs.lock().unwrap();
        runs.iter().filter(|r| r.0 == who && r.1 >= after).count()
    }

    /// Two nodes (two pools on one database): the job runs on one at a time;
    /// a graceful stop hands it over at once, a killed node after its lease.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_node_at_a_time_and_takeover_after_stop_or_death() {
        let dir = tempfile::tempdir().unwrap();
        let (sa, sb) = (store(dir.path()).await, store(dir.path()).await);
        let log = Arc::new(Log::default());
        let t0 = Instant::now();
        // Leases long enough that a loaded machine still renews in time
        // (every second); every wait below polls up to a deadline.
        let lease = Duration::from_secs(3);
        let work = Duration::from_millis(30);
        let a = runner(sa.clone(), "a", log.clone(), lease, work).start();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = runner(sb.clone(), "b", log.clone(), lease, work).start();
        wait_for(|| ran_by(&log, "a", t0) >= 5, "a runs the job").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            ran_by(&log, "b", t0),
            0,
            "the holder renews its lease between runs: the job stays on one node"
        );
        // A graceful stop releases the lease: the other node takes over at its next tick.
        let stopped = Instant::now();
        a.shutdown().await;
        wait_for(|| ran_by(&log, "b", stopped) >= 2, "b takes over").await;
        assert!(
            stopped.elapsed() < lease,
            "taken over at once, not after the lease"
        );
        // A third node starts; the second dies holding the lease.
        let c = runner(sa.clone(), "c", log.clone(), lease, work).start();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let died = Instant::now();
        b.kill();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(ran_by(&log, "c", died), 0, "not before the lease runs out");
        wait_for(
            || ran_by(&log, "c", died) >= 2,
            "c takes over after the lease",
        )
        .await;
        let first = log
            .runs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.0 == "c" && r.1 >= died)
            .map(|r| r.1)
            .min()
            .unwrap();
        // The lease was renewed at most a third of it before the kill.
        assert!(
            first.duration_since(died) >= lease * 2 / 3 - Duration::from_millis(100),
            "taken over only once the lease ran out: {:?}",
            first.duration_since(died)
        );
        c.shutdown().await;
        assert_eq!(log.most.load(Ordering::SeqCst), 1, "never two runs at once");
        // And the runs of different nodes never overlap.
        let mut runs = log.runs.lock().unwrap().clone();
        runs.sort_by_key(|r| r.1);
        for pair in runs.windows(2) {
            assert!(
                pair[1].1 >= pair[0].2,
                "overlapping runs: {:?}",
                (pair[0].0, pair[1].0)
            );
        }
        let leases = sa.leases().await.unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].expires_at_ms, 0, "released at the graceful stop");
    }

    /// A graceful stop waits for a running job to finish.
    #[tokio::test]
    async fn shutdown_lets_a_running_job_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let log = Arc::new(Log::default());
        let running = runner(
            store,
            "a",
            log.clone(),
            Duration::from_secs(5),
            Duration::from_millis(400),
        )
        .start();
        wait_for(
            || log.in_flight.load(Ordering::SeqCst) == 1,
            "the first run started",
        )
        .await;
        running.shutdown().await;
        assert_eq!(log.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(
            log.runs.lock().unwrap().len(),
            1,
            "it finished, and no other started"
        );
    }

    /// The defaults take a dead node's work over within two minutes.
    #[test]
    fn default_leases_take_over_within_two_minutes() {
        let n = NodesConfig::default();
        let longest_interval = Duration::from_secs(60);
        assert!(n.lease() + longest_interval <= Duration::from_secs(90));
        let worker_poll = cnadesk_cve_workflow::poll_interval(n.cve_lease());
        assert!(n.cve_lease() + worker_poll <= Duration::from_secs(75));
        assert!(
            n.holder() != n.holder(),
            "two processes never share a holder name"
        );
    }
}
