//! `SystemdResponder`: quarantine and throttle systemd units over D-Bus (`org.freedesktop.systemd1`),
//! and kill a unit's whole cgroup.
//!
//! - Quarantine `Freeze` → `FreezeUnit` (undo: `ThawUnit`).
//! - Quarantine `CutNetwork` → runtime `IPAddressAllow=` (reset) + `IPAddressDeny=any`, because an
//!   allow entry wins over a deny; undo restores both previous lists (reset, then re-add).
//! - Quarantine `Stop` → `StopUnit(unit, "replace")` (undo: `StartUnit`).
//! - Throttle → runtime `CPUQuotaPerSecUSec = cpu_percent × 10 ms` and
//!   `TasksMax = TasksCurrent + THROTTLE_TASKS_HEADROOM` (forks beyond that fail); undo restores
//!   both previous values. Runtime properties live in `/run/systemd/system.control/` and vanish at
//!   reboot, so a throttle never outlives the machine's uptime.
//! - [`SystemdResponder::kill_unit`] → `KillUnit(unit, "all", SIGKILL)`: the right tool when a
//!   kill target is the main process of a service (see [`SystemdResponder::main_pid`]), since it
//!   also catches double-forked children that left the process tree but not the cgroup.
//!
//! Every apply returns an [`Undo`] (serializable: the lead stores it in the action ledger) and
//! writes it as JSON at the end of [`Applied::detail`] (`… undo={json}`), so an agent restarted
//! before the TTL can still revert exactly ([`Undo::from_detail`], [`SystemdResponder::revert_undo`]).
//!
//! The [`Responder`] trait is synchronous, so the responder owns a current-thread tokio runtime
//! and blocks on it: call it from a plain thread (the pipeline thread), never from async code.

use std::collections::HashMap;

use innerwarden_core::decide::action::{Action, ActionKind, QuarantineMode};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use super::{Applied, RespondError, Responder};

mod error;
mod undo;

pub use error::SystemdError;
pub use undo::{IpPrefix, Undo, cgroup_interface, cpu_quota_usec};
use undo::{Wire, from_wire, to_wire};

const NAME: &str = "systemd";
const DEST: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const PROPS: &str = "org.freedesktop.DBus.Properties";

/// Tasks a throttled unit may start beyond those it runs now.
pub const THROTTLE_TASKS_HEADROOM: u64 = 16;

/// Quarantines, throttles and cgroup-kills systemd units over the system bus.
pub struct SystemdResponder {
    rt: tokio::runtime::Runtime,
    conn: zbus::Connection,
    /// Undo of each action in force, by `Action::target()` and kind, for [`Responder::revert`].
    undos: HashMap<(ActionKind, String), Undo>,
}

impl SystemdResponder {
    /// Connect to the system bus.
    pub fn new() -> Result<Self, SystemdError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| SystemdError::Runtime { source })?;
        let conn = rt
            .block_on(zbus::Connection::system())
            .map_err(|source| SystemdError::Connect { source })?;
        Ok(SystemdResponder {
            rt,
            conn,
            undos: HashMap::new(),
        })
    }

    fn call<B, R>(
        &self,
        path: &str,
        iface: &str,
        method: &'static str,
        target: &str,
        body: &B,
    ) -> Result<R, SystemdError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
    {
        let err = |source| SystemdError::Call {
            method,
            target: target.to_owned(),
            source: Box::new(source),
        };
        self.rt.block_on(async {
            let msg = self
                .conn
                .call_method(Some(DEST), path, Some(iface), method, body)
                .await
                .map_err(err)?;
            msg.body().deserialize::<R>().map_err(err)
        })
    }

    fn manager<B, R>(&self, method: &'static str, unit: &str, body: &B) -> Result<R, SystemdError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
    {
        self.call(MANAGER_PATH, MANAGER, method, unit, body)
    }

    fn unit_path(&self, unit: &str) -> Result<OwnedObjectPath, SystemdError> {
        self.manager("LoadUnit", unit, &(unit,))
    }

    /// A property of `unit` on interface `iface`.
    pub fn property<T>(
        &self,
        unit: &str,
        iface: &str,
        name: &'static str,
    ) -> Result<T, SystemdError>
    where
        T: TryFrom<OwnedValue>,
    {
        let path = self.unit_path(unit)?;
        let v: OwnedValue = self.call(path.as_str(), PROPS, "Get", unit, &(iface, name))?;
        T::try_from(v).map_err(|_| SystemdError::PropertyType {
            unit: unit.to_owned(),
            property: name,
        })
    }

    fn cgroup_property<T: TryFrom<OwnedValue>>(
        &self,
        unit: &str,
        name: &'static str,
    ) -> Result<T, SystemdError> {
        let iface = cgroup_interface(unit).ok_or_else(|| SystemdError::NoCgroup {
            unit: unit.to_owned(),
        })?;
        self.property(unit, iface, name)
    }

    /// The unit whose cgroup holds `pid` (`GetUnitByPID`, then the unit's `Id`); `None` when
    /// systemd knows no unit for it.
    pub fn unit_of_pid(&self, pid: u32) -> Result<Option<String>, SystemdError> {
        let target = format!("pid {pid}");
        let path: OwnedObjectPath = match self.manager("GetUnitByPID", &target, &(pid,)) {
            Ok(p) => p,
            Err(SystemdError::Call { source, .. })
                if matches!(&*source, zbus::Error::MethodError(name, _, _)
                    if name.as_str() == "org.freedesktop.systemd1.NoUnitForPID") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let v: OwnedValue = self.call(path.as_str(), PROPS, "Get", &target, &(UNIT, "Id"))?;
        let id = String::try_from(v).map_err(|_| SystemdError::PropertyType {
            unit: target,
            property: "Id",
        })?;
        Ok(Some(id))
    }

    /// The main process of a service unit, if it has one running.
    pub fn main_pid(&self, unit: &str) -> Result<Option<u32>, SystemdError> {
        let pid: u32 = self.property(unit, "org.freedesktop.systemd1.Service", "MainPID")?;
        Ok((pid != 0).then_some(pid))
    }

    /// SIGKILL every process in the unit's cgroup (`KillUnit(unit, "all", SIGKILL)`).
    pub fn kill_unit(&self, unit: &str) -> Result<Applied, SystemdError> {
        self.manager::<_, ()>("KillUnit", unit, &(unit, "all", libc::SIGKILL))?;
        Ok(Applied {
            detail: format!("SIGKILL to every process of {unit} (KillUnit all); irreversible"),
        })
    }

    fn set_properties(
        &self,
        unit: &str,
        props: Vec<(&str, Value<'_>)>,
    ) -> Result<(), SystemdError> {
        self.manager::<_, ()>("SetUnitProperties", unit, &(unit, true, props))
    }

    /// Set an IP list exactly: an empty assignment resets it, then the entries are added.
    fn ip_list_assignments(
        name: &'static str,
        v: &[IpPrefix],
    ) -> Vec<(&'static str, Value<'static>)> {
        let mut out = vec![(name, Value::from(Wire::new()))];
        if !v.is_empty() {
            out.push((name, Value::from(to_wire(v))));
        }
        out
    }

    /// Enforce `action`, returning what undoes it.
    pub fn apply_with_undo(&mut self, action: &Action) -> Result<(Applied, Undo), RespondError> {
        let key = (action.kind(), action.target());
        if let Some(undo) = self.undos.get(&key) {
            // Already in force (idempotent): re-assert without re-reading "previous" values,
            // which are ours now.
            let undo = undo.clone();
            self.enforce(action)?;
            let detail = format!(
                "{} already in force; {}",
                action.target(),
                undo.to_detail_suffix()
            );
            return Ok((Applied { detail }, undo));
        }
        let undo = self.capture(action)?;
        let what = self.enforce(action)?;
        self.undos.insert(key, undo.clone());
        let detail = format!("{what}; {}", undo.to_detail_suffix());
        Ok((Applied { detail }, undo))
    }

    /// Read the values the action will replace.
    fn capture(&self, action: &Action) -> Result<Undo, SystemdError> {
        Ok(match action {
            Action::Quarantine { unit, mode, .. } => match mode {
                QuarantineMode::Freeze => Undo::Thaw { unit: unit.clone() },
                QuarantineMode::Stop => Undo::Start { unit: unit.clone() },
                QuarantineMode::CutNetwork => Undo::RestoreNetwork {
                    unit: unit.clone(),
                    ip_address_allow: from_wire(self.cgroup_property(unit, "IPAddressAllow")?),
                    ip_address_deny: from_wire(self.cgroup_property(unit, "IPAddressDeny")?),
                },
            },
            Action::Throttle { unit, .. } => Undo::RestoreLimits {
                unit: unit.clone(),
                cpu_quota_per_sec_usec: self.cgroup_property(unit, "CPUQuotaPerSecUSec")?,
                tasks_max: self.cgroup_property(unit, "TasksMax")?,
            },
            other => {
                return Err(SystemdError::UndoUnknown {
                    unit: other.target(),
                });
            }
        })
    }

    fn enforce(&self, action: &Action) -> Result<String, RespondError> {
        match action {
            Action::Quarantine { unit, mode, .. } => match mode {
                QuarantineMode::Freeze => {
                    let state: String = self.property(unit, UNIT, "FreezerState")?;
                    if state != "frozen" && state != "freezing" {
                        self.manager::<_, ()>("FreezeUnit", unit, &(unit.as_str(),))?;
                    }
                    Ok(format!("froze {unit} (FreezeUnit)"))
                }
                QuarantineMode::Stop => {
                    let _job: OwnedObjectPath =
                        self.manager("StopUnit", unit, &(unit.as_str(), "replace"))?;
                    Ok(format!("stopped {unit} (StopUnit replace)"))
                }
                QuarantineMode::CutNetwork => {
                    let mut props = Self::ip_list_assignments("IPAddressAllow", &[]);
                    props.extend(Self::ip_list_assignments("IPAddressDeny", &IpPrefix::any()));
                    self.set_properties(unit, props)?;
                    Ok(format!(
                        "cut the network of {unit} (runtime IPAddressDeny=any, IPAddressAllow=)"
                    ))
                }
            },
            Action::Throttle {
                unit, cpu_percent, ..
            } => {
                let quota = cpu_quota_usec(*cpu_percent);
                let current: u64 = self.cgroup_property(unit, "TasksCurrent")?;
                let tasks = if current == u64::MAX {
                    64
                } else {
                    current + THROTTLE_TASKS_HEADROOM
                };
                self.set_properties(
                    unit,
                    vec![
                        ("CPUQuotaPerSecUSec", Value::from(quota)),
                        ("TasksMax", Value::from(tasks)),
                    ],
                )?;
                Ok(format!(
                    "throttled {unit} (runtime CPUQuotaPerSecUSec={quota} TasksMax={tasks})"
                ))
            }
            other => Err(RespondError::Unsupported { kind: other.kind() }),
        }
    }

    /// Undo with a stored [`Undo`] (works after an agent restart).
    pub fn revert_undo(&mut self, undo: &Undo) -> Result<Applied, RespondError> {
        let detail = match undo {
            Undo::Thaw { unit } => {
                let state: String = self.property(unit, UNIT, "FreezerState")?;
                if state != "running" && state != "thawing" {
                    self.manager::<_, ()>("ThawUnit", unit, &(unit.as_str(),))?;
                }
                format!("thawed {unit} (ThawUnit)")
            }
            Undo::Start { unit } => {
                let _job: OwnedObjectPath =
                    self.manager("StartUnit", unit, &(unit.as_str(), "replace"))?;
                format!("started {unit} (StartUnit replace)")
            }
            Undo::RestoreNetwork {
                unit,
                ip_address_allow,
                ip_address_deny,
            } => {
                let mut props = Self::ip_list_assignments("IPAddressAllow", ip_address_allow);
                props.extend(Self::ip_list_assignments("IPAddressDeny", ip_address_deny));
                self.set_properties(unit, props)?;
                format!(
                    "restored the network of {unit} ({} allow, {} deny entries)",
                    ip_address_allow.len(),
                    ip_address_deny.len()
                )
            }
            Undo::RestoreLimits {
                unit,
                cpu_quota_per_sec_usec,
                tasks_max,
            } => {
                self.set_properties(
                    unit,
                    vec![
                        ("CPUQuotaPerSecUSec", Value::from(*cpu_quota_per_sec_usec)),
                        ("TasksMax", Value::from(*tasks_max)),
                    ],
                )?;
                format!(
                    "restored {unit} limits (CPUQuotaPerSecUSec={cpu_quota_per_sec_usec} TasksMax={tasks_max})"
                )
            }
        };
        self.undos.retain(|_, u| u != undo);
        Ok(Applied { detail })
    }
}

impl Responder for SystemdResponder {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kinds(&self) -> &'static [ActionKind] {
        &[ActionKind::Quarantine, ActionKind::Throttle]
    }

    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        self.apply_with_undo(action).map(|(a, _)| a)
    }

    /// Reverts with the undo recorded at apply. Without one (agent restarted), Freeze and Stop
    /// are undone anyway (thaw, start); CutNetwork and Throttle need the ledger's [`Undo`] via
    /// [`SystemdResponder::revert_undo`], because resetting to empty would erase the unit's own
    /// settings.
    /// With the ledger's `Applied.detail`, the recorded [`Undo`] restores exactly what was
    /// changed, even after an agent restart.
    fn revert_with(
        &mut self,
        action: &Action,
        applied_detail: Option<&str>,
    ) -> Result<Applied, RespondError> {
        match applied_detail.and_then(Undo::from_detail) {
            Some(undo) => {
                let res = self.revert_undo(&undo);
                if res.is_ok() {
                    self.undos.remove(&(action.kind(), action.target()));
                }
                res
            }
            None => self.revert(action),
        }
    }

    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        let key = (action.kind(), action.target());
        let undo = match (self.undos.get(&key), action) {
            (Some(u), _) => u.clone(),
            (
                None,
                Action::Quarantine {
                    unit,
                    mode: QuarantineMode::Freeze,
                    ..
                },
            ) => Undo::Thaw { unit: unit.clone() },
            (
                None,
                Action::Quarantine {
                    unit,
                    mode: QuarantineMode::Stop,
                    ..
                },
            ) => Undo::Start { unit: unit.clone() },
            (None, Action::Quarantine { unit, .. } | Action::Throttle { unit, .. }) => {
                return Err(SystemdError::UndoUnknown { unit: unit.clone() }.into());
            }
            (None, other) => return Err(RespondError::Unsupported { kind: other.kind() }),
        };
        self.revert_undo(&undo)
    }
}
