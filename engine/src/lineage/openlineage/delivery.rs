//! Delivering events to the sinks without holding up a statement: each sink has a bounded queue
//! and a task of its own that sends the events in order, retrying a sink that is down; an event
//! that finds the queue full, or that the sink keeps refusing, is dropped and counted.
//! The counts are in `system.access.openlineage_sinks`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::error::{EngineError, Result};

/// Attempts at one event before it is dropped as failed.
const MAX_ATTEMPTS: u32 = 5;
/// The wait before the second attempt; it doubles for each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How long one HTTP request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where events go, and how many may wait.
#[derive(Debug, Clone)]
pub struct OpenLineageConfig {
    /// The namespace of the jobs (and of datasets named by their table name).
    pub namespace: String,
    /// A file events are appended to, one JSON document per line.
    pub file: Option<PathBuf>,
    /// An OpenLineage HTTP endpoint (Marquez): events are POSTed to `URL/api/v1/lineage`.
    pub url: Option<String>,
    /// Sent as `Authorization: Bearer KEY` to the URL.
    pub api_key: Option<String>,
    /// Events that may wait for each sink.
    pub queue_capacity: usize,
}

/// What a sink has done so far.
#[derive(Debug)]
pub struct SinkStatus {
    /// `file` or `http`.
    pub kind: &'static str,
    /// The file's path or the endpoint's URL.
    pub target: String,
    queued: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<(i64, String)>>,
    /// An event is being sent.
    sending: std::sync::atomic::AtomicBool,
    /// Told when the sink has nothing left to send.
    idle: tokio::sync::Notify,
}

/// A sink's counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkCounts {
    /// Waiting in the queue.
    pub queued: u64,
    pub delivered: u64,
    /// Attempts that failed and were tried again.
    pub retried: u64,
    /// Dropped because the queue was full.
    pub dropped: u64,
    /// Dropped after every attempt failed (or the sink refused the event).
    pub failed: u64,
    /// When (Unix ms) and why the last attempt failed.
    pub last_error: Option<(i64, String)>,
}

impl SinkStatus {
    fn new(kind: &'static str, target: String) -> Self {
        SinkStatus {
            kind,
            target,
            queued: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            sending: std::sync::atomic::AtomicBool::new(false),
            idle: tokio::sync::Notify::new(),
        }
    }

    /// Events queued or being sent.
    pub fn unsent(&self) -> u64 {
        self.queued.load(Ordering::Acquire) + u64::from(self.sending.load(Ordering::Acquire))
    }

    fn is_idle(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0 && !self.sending.load(Ordering::Acquire)
    }

    /// Waits until the sink has sent (or given up on) every event queued, for at most
    /// `timeout`; returns whether it did.
    pub async fn flushed(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so a notice between the two is not missed.
            notified.as_mut().enable();
            if self.is_idle() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_idle();
            }
        }
    }

    pub fn counts(&self) -> SinkCounts {
        SinkCounts {
            queued: self.queued.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    fn error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((chrono::Utc::now().timestamp_millis(), message));
    }
}

/// One sink's end of its queue.
pub(crate) struct Sink {
    pub status: Arc<SinkStatus>,
    queue: mpsc::Sender<Arc<str>>,
}

impl SinkStatus {
    /// Counts an event on its way to the sink (being built) as queued, so that a flush waits
    /// for it too.
    pub(crate) fn reserve(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts an event reserved by [`Self::reserve`] that found no room on its way to the sink
    /// (or could not be made) as dropped.
    pub(crate) fn unreserve_dropped(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if self.is_idle() {
            self.idle.notify_waiters();
        }
    }
}

impl Sink {
    /// Queues `event`, counted already by [`SinkStatus::reserve`], or drops it (counted) when
    /// the queue is full. Never waits.
    pub(crate) fn offer_reserved(&self, event: Arc<str>) {
        if self.queue.try_send(event).is_err() {
            self.status.unreserve_dropped();
        }
    }
}

/// Where one sink sends.
enum Target {
    File {
        path: PathBuf,
        file: Option<tokio::fs::File>,
    },
    Http {
        endpoint: String,
        /// The endpoint without credentials, for messages.
        shown: String,
        api_key: Option<String>,
        client: reqwest::Client,
    },
}

/// Why one attempt failed, and whether trying again may help.
struct Refused {
    message: String,
    retry: bool,
}

impl Target {
    async fn send(&mut self, event: &str) -> std::result::Result<(), Refused> {
        match self {
            Target::File { path, file } => {
                if file.is_none() {
                    *file = Some(
                        tokio::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&*path)
                            .await
                            .map_err(|e| Refused {
                                message: format!("cannot open {}: {e}", path.display()),
                                retry: true,
                            })?,
                    );
                }
                let Some(f) = file.as_mut() else {
                    return Ok(());
                };
                let mut line = String::with_capacity(event.len() + 1);
                line.push_str(event);
                line.push('\n');
                let written = async {
                    f.write_all(line.as_bytes()).await?;
                    f.flush().await
                }
                .await;
                written.map_err(|e| {
                    // Reopened on the next attempt.
                    *file = None;
                    Refused {
                        message: format!("cannot write {}: {e}", path.display()),
                        retry: true,
                    }
                })
            }
            Target::Http {
                endpoint,
                shown,
                api_key,
                client,
            } => {
                let mut request = client
                    .post(endpoint.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(event.to_string());
                if let Some(key) = api_key {
                    request = request.bearer_auth(key);
                }
                match request.send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => {
                        let status = r.status();
                        Err(Refused {
                            message: format!("{shown} answered {status}"),
                            // The collector refused this event: sending it again will not help.
                            retry: status.is_server_error()
                                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                                || status == reqwest::StatusCode::REQUEST_TIMEOUT,
                        })
                    }
                    Err(e) => Err(Refused {
                        message: format!("cannot reach {shown}: {}", e.without_url()),
                        retry: true,
                    }),
                }
            }
        }
    }
}

/// Sends the queued events to `target`, in order, for as long as the queue is open.
async fn deliver(mut target: Target, status: Arc<SinkStatus>, mut queue: mpsc::Receiver<Arc<str>>) {
    while let Some(event) = queue.recv().await {
        status.sending.store(true, Ordering::Release);
        status.queued.fetch_sub(1, Ordering::AcqRel);
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            match target.send(&event).await {
                Ok(()) => {
                    status.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(refused) => {
                    tracing::warn!(sink = %status.target, attempt, "OpenLineage event not delivered: {}", refused.message);
                    status.error(refused.message);
                    if !refused.retry || attempt == MAX_ATTEMPTS {
                        status.failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    status.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        status.sending.store(false, Ordering::Release);
        if status.is_idle() {
            status.idle.notify_waiters();
        }
    }
}

/// Starts a delivery task for each sink `config` names. Needs a Tokio runtime.
pub(crate) fn start(config: &OpenLineageConfig) -> Result<Vec<Sink>> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| EngineError::Internal("OpenLineage sinks need a Tokio runtime".to_string()))?;
    let mut targets = vec![];
    if let Some(path) = &config.file {
        targets.push((
            SinkStatus::new("file", path.display().to_string()),
            Target::File {
                path: path.clone(),
                file: None,
            },
        ));
    }
    if let Some(url) = &config.url {
        let parsed = url::Url::parse(url).map_err(|e| {
            EngineError::InvalidParameter(format!("OpenLineage URL '{url}' is not a URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(EngineError::InvalidParameter(format!(
                "OpenLineage URL '{url}' must be http:// or https://"
            )));
        }
        let endpoint = format!("{}/api/v1/lineage", url.trim_end_matches('/'));
        // Shown in system.access.openlineage_sinks and in errors: never with credentials.
        let mut shown = url::Url::parse(&endpoint).map_err(|e| {
            EngineError::InvalidParameter(format!("OpenLineage URL '{url}' is not a URL: {e}"))
        })?;
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let shown = shown.to_string();
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot build an HTTP client: {e}")))?;
        targets.push((
            SinkStatus::new("http", shown.clone()),
            Target::Http {
                endpoint,
                shown,
                api_key: config.api_key.clone(),
                client,
            },
        ));
    }
    Ok(targets
        .into_iter()
        .map(|(status, target)| {
            let status = Arc::new(status);
            let (queue, receiver) = mpsc::channel(config.queue_capacity.max(1));
            runtime.spawn(deliver(target, status.clone(), receiver));
            Sink { status, queue }
        })
        .collect())
}
