//! The responder thread: every responder is built and called on one plain thread, outside any
//! async runtime (the systemd responder owns a runtime of its own, which cannot be entered from
//! the pipeline's). The pipeline talks to it through [`ResponderThread`], itself a
//! [`Responder`], so the response stage does not know the difference.

use std::sync::mpsc;
use std::thread::JoinHandle;

use innerwarden_core::decide::action::{Action, ActionKind};

use super::{Applied, RespondError, Responder, Responders};

/// Builds one responder on the responder thread; its error is reported, never fatal.
pub type Builder = Box<dyn FnOnce() -> Result<Box<dyn Responder>, String> + Send>;

/// What became of one responder at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderStatus {
    pub name: &'static str,
    pub kinds: Vec<ActionKind>,
    /// `None` when available; the reason when not.
    pub unavailable: Option<String>,
}

enum Request {
    Apply(Action, mpsc::Sender<Result<Applied, RespondError>>),
    Revert(
        Action,
        Option<String>,
        mpsc::Sender<Result<Applied, RespondError>>,
    ),
    Maintain(Vec<Action>, mpsc::Sender<Vec<String>>),
}

pub struct ResponderThread {
    tx: Option<mpsc::Sender<Request>>,
    kinds: &'static [ActionKind],
    worker: Option<JoinHandle<()>>,
}

impl ResponderThread {
    /// Start the thread and build each `(name, builder)` on it.
    pub fn start(
        builders: Vec<(&'static str, Builder)>,
    ) -> anyhow::Result<(Self, Vec<ResponderStatus>)> {
        let (tx, rx) = mpsc::channel::<Request>();
        let (status_tx, status_rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("responders".into())
            .spawn(move || {
                let mut responders = Responders::default();
                let mut statuses = Vec::new();
                for (name, build) in builders {
                    match build() {
                        Ok(r) => {
                            statuses.push(ResponderStatus {
                                name,
                                kinds: r.kinds().to_vec(),
                                unavailable: None,
                            });
                            responders.push(r);
                        }
                        Err(why) => statuses.push(ResponderStatus {
                            name,
                            kinds: Vec::new(),
                            unavailable: Some(why),
                        }),
                    }
                }
                let _ = status_tx.send((statuses, responders.supported()));
                while let Ok(req) = rx.recv() {
                    match req {
                        Request::Apply(a, reply) => {
                            let _ = reply.send(responders.apply(&a));
                        }
                        Request::Revert(a, detail, reply) => {
                            let _ = reply.send(responders.revert_with(&a, detail.as_deref()));
                        }
                        Request::Maintain(active, reply) => {
                            let _ = reply.send(responders.maintain(&active));
                        }
                    }
                }
            })?;
        let (statuses, supported) = status_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the responder thread died while starting"))?;
        // The kinds are fixed for the agent's lifetime; leaking one small Vec gives the
        // 'static slice the Responder trait asks for.
        let kinds: &'static [ActionKind] = Box::leak(supported.into_boxed_slice());
        Ok((
            Self {
                tx: Some(tx),
                kinds,
                worker: Some(worker),
            },
            statuses,
        ))
    }

    fn call(
        &self,
        make: impl FnOnce(mpsc::Sender<Result<Applied, RespondError>>) -> Request,
    ) -> Result<Applied, RespondError> {
        let gone = || RespondError::Failed {
            responder: "responders",
            message: "the responder thread is gone".into(),
            source: None,
        };
        let (reply, answer) = mpsc::channel();
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(make(reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

impl Responder for ResponderThread {
    fn name(&self) -> &'static str {
        "responders"
    }

    fn kinds(&self) -> &'static [ActionKind] {
        self.kinds
    }

    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        self.call(|r| Request::Apply(action.clone(), r))
    }

    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        self.call(|r| Request::Revert(action.clone(), None, r))
    }

    fn revert_with(
        &mut self,
        action: &Action,
        applied_detail: Option<&str>,
    ) -> Result<Applied, RespondError> {
        let detail = applied_detail.map(str::to_owned);
        self.call(|r| Request::Revert(action.clone(), detail, r))
    }

    fn maintain(&mut self, active: &[Action]) -> Option<String> {
        let (reply, answer) = mpsc::channel();
        self.tx
            .as_ref()?
            .send(Request::Maintain(active.to_vec(), reply))
            .ok()?;
        let notes = answer.recv().ok()?;
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

impl Drop for ResponderThread {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Responder for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn kinds(&self) -> &'static [ActionKind] {
            &[ActionKind::Throttle]
        }
        fn apply(&mut self, a: &Action) -> Result<Applied, RespondError> {
            Ok(Applied {
                detail: format!(
                    "applied {} on {:?}",
                    a.target(),
                    std::thread::current().name()
                ),
            })
        }
        fn revert(&mut self, _: &Action) -> Result<Applied, RespondError> {
            Ok(Applied {
                detail: "reverted".into(),
            })
        }
    }

    #[test]
    fn calls_run_on_the_responder_thread_and_failures_are_reported() {
        let builders: Vec<(&'static str, Builder)> = vec![
            (
                "fake",
                Box::new(|| Ok(Box::new(Fake) as Box<dyn Responder>)),
            ),
            ("broken", Box::new(|| Err("no bus here".to_owned()))),
        ];
        let (mut t, statuses) = ResponderThread::start(builders).expect("starts");
        assert_eq!(statuses[1].unavailable.as_deref(), Some("no bus here"));
        assert_eq!(t.kinds(), &[ActionKind::Throttle]);
        let a = Action::Throttle {
            unit: "x.service".into(),
            cpu_percent: 10,
            ttl_secs: 5,
        };
        let applied = t.apply(&a).expect("applies");
        assert!(
            applied.detail.contains("Some(\"responders\")"),
            "{}",
            applied.detail
        );
        let kill = Action::Kill {
            pid: 1,
            start_ns: 0,
            exe: String::new(),
            tree: false,
        };
        assert!(matches!(
            t.apply(&kill),
            Err(RespondError::Unsupported { .. })
        ));
    }
}
