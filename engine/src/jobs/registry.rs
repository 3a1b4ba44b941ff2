//! The background runs going on in this server: what cancels each, the tasks a shutdown waits
//! for, and the channel to the launcher task (which knows what a run is; this registry only
//! passes runs on, so that the engine's state can hold it).

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

/// A run handed to the launcher (a `JobStart`).
pub(crate) type Launch = Box<dyn Any + Send>;

#[derive(Default)]
pub struct RunningJobs {
    runs: Mutex<HashMap<uuid::Uuid, CancellationToken>>,
    launcher: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Launch>>>,
    /// Set when the server shuts down: the runs it stops failed, nobody cancelled them.
    shutting_down: std::sync::atomic::AtomicBool,
    /// The runs' tasks, which a shutdown waits for.
    tasks: tokio_util::task::TaskTracker,
    /// Wakes the scheduler: a schedule changed, or the server shuts down.
    scheduler_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl RunningJobs {
    pub(crate) fn set_launcher(&self, tx: tokio::sync::mpsc::UnboundedSender<Launch>) {
        *self.launcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    pub(crate) fn scheduler_wake(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.scheduler_wake.clone()
    }

    /// Tells the scheduler to look at the schedules again (one was created or altered).
    pub(crate) fn wake_scheduler(&self) {
        self.scheduler_wake.notify_one();
    }

    /// Whether `run` is going in this server.
    pub(crate) fn is_running(&self, run: uuid::Uuid) -> bool {
        self.lock().contains_key(&run)
    }

    pub(crate) fn tasks(&self) -> tokio_util::task::TaskTracker {
        self.tasks.clone()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Hands a run to the launcher; whether there is one.
    pub(crate) fn launch(&self, job: Launch) -> bool {
        match &*self.launcher.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(tx) => tx.send(job).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<uuid::Uuid, CancellationToken>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a run; its token is cancelled already when the server is shutting down (the
    /// shutdown's cancel may have passed before it was registered).
    pub(crate) fn start(&self, run: uuid::Uuid) -> CancellationToken {
        let token = CancellationToken::new();
        let mut runs = self.lock();
        if self.is_shutting_down() {
            token.cancel();
        }
        runs.insert(run, token.clone());
        token
    }

    pub(crate) fn end(&self, run: uuid::Uuid) {
        self.lock().remove(&run);
    }

    /// Stops every run: the server is shutting down. Returns once each has recorded its end,
    /// or after `timeout`.
    pub async fn shut_down(&self, timeout: std::time::Duration) {
        {
            // Under the lock `start` takes: a run registered from now on starts cancelled.
            let _runs = self.lock();
            self.shutting_down
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.scheduler_wake.notify_one();
        for token in self.lock().values() {
            token.cancel();
        }
        self.tasks.close();
        let _ = tokio::time::timeout(timeout, self.tasks.wait()).await;
    }

    /// Cancels a running run; whether it was running here.
    pub(crate) fn cancel(&self, run: uuid::Uuid) -> bool {
        match self.lock().get(&run) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}
