//! The mutating half of the control plane, bridged to the pipeline loop that owns the response
//! state: each call becomes a [`Control`] command and waits for the loop's answer.

use innerwarden_core::decide::action::Action;
use innerwarden_core::decide::config::{Cidr, Mode};
use innerwarden_core::model::file::Label;
use tokio::sync::{mpsc, oneshot};

use super::ControlError;
use super::backend::{BlockRequest, ResponseControl};
use crate::pipeline::Control;

pub struct PipelineControl {
    tx: mpsc::Sender<Control>,
}

impl PipelineControl {
    pub fn new(tx: mpsc::Sender<Control>) -> Self {
        Self { tx }
    }

    /// Send a command built around a reply channel and wait for the answer. The control loop
    /// runs on the multi-thread runtime, so the wait moves off the worker (block_in_place).
    fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Control) -> Result<T, ControlError> {
        let (reply, answer) = oneshot::channel();
        let cmd = make(reply);
        let tx = self.tx.clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                tx.send(cmd)
                    .await
                    .map_err(|_| ControlError::failed("the pipeline is not running"))?;
                answer
                    .await
                    .map_err(|_| ControlError::failed("the pipeline dropped the request"))
            })
        })
    }
}

fn single_address(c: &Cidr) -> Result<(std::net::IpAddr, u8), ControlError> {
    let text = c.to_string();
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| ControlError::failed("unreadable prefix"))?;
    Ok((
        addr.parse().map_err(ControlError::failed)?,
        prefix.parse().map_err(ControlError::failed)?,
    ))
}

impl ResponseControl for PipelineControl {
    fn block(&mut self, req: BlockRequest) -> Result<i64, ControlError> {
        let (addr, prefix) = single_address(&req.target)?;
        let action = Action::Block {
            addr,
            prefix,
            ttl_secs: req.ttl_secs.max(1),
        };
        self.call(|reply| Control::Block {
            action,
            reason: req.reason,
            caller_uid: req.caller_uid,
            reply,
        })?
        .map_err(ControlError::failed)
    }

    fn unblock(&mut self, target: Cidr, caller_uid: u32) -> Result<bool, ControlError> {
        self.call(|reply| Control::Unblock {
            target: target.to_string(),
            caller_uid,
            reply,
        })?
        .map_err(ControlError::failed)
    }

    fn revert(&mut self, id: i64, caller_uid: u32) -> Result<bool, ControlError> {
        self.call(|reply| Control::Revert {
            id,
            caller_uid,
            reply,
        })?
        .map_err(ControlError::failed)
    }

    fn set_mode(&mut self, mode: Mode, _caller_uid: u32) -> Result<(), ControlError> {
        self.call(|reply| Control::SetMode { mode, reply })?
            .map_err(ControlError::failed)
    }

    fn get_mode(&mut self) -> Result<Mode, ControlError> {
        self.call(|reply| Control::GetMode { reply })?
            .ok_or_else(|| ControlError::failed("no response stage"))
    }

    fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
    ) -> Result<i64, ControlError> {
        self.call(|reply| Control::Feedback {
            incident_id,
            verdict,
            caller_uid,
            reply,
        })?
        .map_err(ControlError::failed)
    }
}
