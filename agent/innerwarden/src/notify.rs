//! Escalation notifications to a generic JSON webhook. The pipeline never waits on the network:
//! notifications go through a bounded queue (drops counted as `notify_dropped_total`) to one
//! thread that POSTs each with a timeout and a few retries. The audit log, not the webhook, is
//! the record; a notification that cannot be delivered is logged and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use innerwarden_core::config::NotifyConfig;

/// Notifications waiting at most.
const QUEUE: usize = 256;

#[derive(Debug, Default)]
pub struct NotifyStats {
    pub sent_total: AtomicU64,
    pub failed_total: AtomicU64,
    pub dropped_total: AtomicU64,
}

pub struct Notifier {
    tx: Option<SyncSender<serde_json::Value>>,
    worker: Option<JoinHandle<()>>,
    stats: Arc<NotifyStats>,
}

impl Notifier {
    /// `None` when no webhook is configured.
    pub fn start(cfg: &NotifyConfig) -> anyhow::Result<Option<Self>> {
        let Some(url) = cfg.webhook_url.clone() else {
            return Ok(None);
        };
        let (tx, rx) = sync_channel(QUEUE);
        let stats = Arc::new(NotifyStats::default());
        let timeout = Duration::from_secs(cfg.timeout_secs);
        let attempts = cfg.attempts;
        let s = Arc::clone(&stats);
        let worker = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || deliver_all(&url, timeout, attempts, &rx, &s))?;
        Ok(Some(Self {
            tx: Some(tx),
            worker: Some(worker),
            stats,
        }))
    }

    /// Queue a notification; never blocks. False when the queue was full (counted).
    pub fn send(&self, payload: serde_json::Value) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(payload) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped_total.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn stats(&self) -> Arc<NotifyStats> {
        Arc::clone(&self.stats)
    }
}

impl Drop for Notifier {
    /// Deliver what is queued, then stop.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn deliver_all(
    url: &str,
    timeout: Duration,
    attempts: u32,
    rx: &Receiver<serde_json::Value>,
    stats: &NotifyStats,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(true)
        .build()
        .into();
    while let Ok(payload) = rx.recv() {
        let body = payload.to_string();
        let mut delivered = false;
        for attempt in 1..=attempts {
            match agent
                .post(url)
                .header("Content-Type", "application/json")
                .header(
                    "User-Agent",
                    concat!("innerwarden/", env!("CARGO_PKG_VERSION")),
                )
                .send(body.as_bytes())
            {
                Ok(_) => {
                    delivered = true;
                    break;
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "webhook delivery failed");
                    if attempt < attempts {
                        std::thread::sleep(Duration::from_secs(u64::from(attempt)));
                    }
                }
            }
        }
        let counter = if delivered {
            &stats.sent_total
        } else {
            &stats.failed_total
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A one-request-at-a-time HTTP receiver on loopback that answers `statuses` in order.
    fn receiver(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}/hook", l.local_addr().expect("addr"));
        let h = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in statuses {
                let (s, _) = l.accept().expect("accept");
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).expect("header");
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().expect("length");
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).expect("body");
                bodies.push(String::from_utf8(body).expect("utf8"));
                let mut s = s;
                write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .expect("reply");
            }
            bodies
        });
        (url, h)
    }

    #[test]
    fn posts_json_and_retries_a_failed_delivery() {
        let (url, h) = receiver(vec![500, 200]);
        let cfg = NotifyConfig {
            webhook_url: Some(url),
            timeout_secs: 5,
            attempts: 3,
        };
        let n = Notifier::start(&cfg).expect("start").expect("configured");
        let stats = n.stats();
        assert!(n.send(serde_json::json!({"incident_id": 7, "tier": "soft"})));
        drop(n); // delivers what is queued
        let bodies = h.join().expect("receiver");
        assert_eq!(bodies.len(), 2, "one failure, one retry");
        let v: serde_json::Value = serde_json::from_str(&bodies[1]).expect("json body");
        assert_eq!(v["incident_id"], 7);
        assert_eq!(stats.sent_total.load(Ordering::Relaxed), 1);
        assert_eq!(stats.failed_total.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn no_url_means_no_notifier() {
        assert!(
            Notifier::start(&NotifyConfig::default())
                .expect("ok")
                .is_none()
        );
    }
}
