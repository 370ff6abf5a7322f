//! MITRE ATT&CK (Enterprise, Linux platform): the techniques the project's detectors and rules
//! name, and the tactics each belongs to. A rule naming a technique that is not here is refused
//! at load, so a typo in an id never reaches a finding.
//!
//! Tactic membership follows the ATT&CK matrix: a technique listed under several tactics (Valid
//! Accounts, Scheduled Task/Job, Process Injection, ...) has them all, in matrix order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// ATT&CK Enterprise tactics relevant to a Linux host, in kill-chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tactic {
    InitialAccess,
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    Collection,
    CommandAndControl,
    Exfiltration,
    Impact,
}

impl Tactic {
    pub const ALL: [Tactic; 12] = [
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::Impact,
    ];

    /// The snake_case name (as in JSON and rule files).
    pub fn as_str(self) -> &'static str {
        match self {
            Tactic::InitialAccess => "initial_access",
            Tactic::Execution => "execution",
            Tactic::Persistence => "persistence",
            Tactic::PrivilegeEscalation => "privilege_escalation",
            Tactic::DefenseEvasion => "defense_evasion",
            Tactic::CredentialAccess => "credential_access",
            Tactic::Discovery => "discovery",
            Tactic::LateralMovement => "lateral_movement",
            Tactic::Collection => "collection",
            Tactic::CommandAndControl => "command_and_control",
            Tactic::Exfiltration => "exfiltration",
            Tactic::Impact => "impact",
        }
    }

    /// The ATT&CK tactic id (`TA0002` for execution).
    pub fn id(self) -> &'static str {
        match self {
            Tactic::InitialAccess => "TA0001",
            Tactic::Execution => "TA0002",
            Tactic::Persistence => "TA0003",
            Tactic::PrivilegeEscalation => "TA0004",
            Tactic::DefenseEvasion => "TA0005",
            Tactic::CredentialAccess => "TA0006",
            Tactic::Discovery => "TA0007",
            Tactic::LateralMovement => "TA0008",
            Tactic::Collection => "TA0009",
            Tactic::CommandAndControl => "TA0011",
            Tactic::Exfiltration => "TA0010",
            Tactic::Impact => "TA0040",
        }
    }
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One technique or sub-technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    pub id: &'static str,
    pub name: &'static str,
    pub tactics: &'static [Tactic],
}

use Tactic::*;

const fn t(id: &'static str, name: &'static str, tactics: &'static [Tactic]) -> Technique {
    Technique { id, name, tactics }
}

const P_PE: &[Tactic] = &[Persistence, PrivilegeEscalation];
const E_P_PE: &[Tactic] = &[Execution, Persistence, PrivilegeEscalation];
const P_PE_DE: &[Tactic] = &[Persistence, PrivilegeEscalation, DefenseEvasion];
const PE_DE: &[Tactic] = &[PrivilegeEscalation, DefenseEvasion];
const IA_P_PE_DE: &[Tactic] = &[
    InitialAccess,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
];

/// Every technique the project uses, sorted by id.
pub static TECHNIQUES: &[Technique] = &[
    t("T1003", "OS Credential Dumping", &[CredentialAccess]),
    t("T1003.007", "Proc Filesystem", &[CredentialAccess]),
    t(
        "T1003.008",
        "/etc/passwd and /etc/shadow",
        &[CredentialAccess],
    ),
    t("T1005", "Data from Local System", &[Collection]),
    t("T1007", "System Service Discovery", &[Discovery]),
    t("T1014", "Rootkit", &[DefenseEvasion]),
    t(
        "T1016",
        "System Network Configuration Discovery",
        &[Discovery],
    ),
    t("T1018", "Remote System Discovery", &[Discovery]),
    t("T1020", "Automated Exfiltration", &[Exfiltration]),
    t("T1021", "Remote Services", &[LateralMovement]),
    t("T1021.004", "SSH", &[LateralMovement]),
    t(
        "T1027",
        "Obfuscated Files or Information",
        &[DefenseEvasion],
    ),
    t("T1030", "Data Transfer Size Limits", &[Exfiltration]),
    t("T1033", "System Owner/User Discovery", &[Discovery]),
    t("T1036", "Masquerading", &[DefenseEvasion]),
    t(
        "T1036.003",
        "Rename Legitimate Utilities",
        &[DefenseEvasion],
    ),
    t("T1036.004", "Masquerade Task or Service", &[DefenseEvasion]),
    t(
        "T1036.005",
        "Match Legitimate Resource Name or Location",
        &[DefenseEvasion],
    ),
    t("T1037", "Boot or Logon Initialization Scripts", P_PE),
    t("T1037.004", "RC Scripts", P_PE),
    t("T1040", "Network Sniffing", &[CredentialAccess, Discovery]),
    t("T1041", "Exfiltration Over C2 Channel", &[Exfiltration]),
    t("T1046", "Network Service Discovery", &[Discovery]),
    t(
        "T1048",
        "Exfiltration Over Alternative Protocol",
        &[Exfiltration],
    ),
    t(
        "T1048.003",
        "Exfiltration Over Unencrypted Non-C2 Protocol",
        &[Exfiltration],
    ),
    t(
        "T1049",
        "System Network Connections Discovery",
        &[Discovery],
    ),
    t("T1053", "Scheduled Task/Job", E_P_PE),
    t("T1053.002", "At", E_P_PE),
    t("T1053.003", "Cron", E_P_PE),
    t("T1053.006", "Systemd Timers", E_P_PE),
    t("T1055", "Process Injection", PE_DE),
    t("T1055.008", "Ptrace System Calls", PE_DE),
    t("T1056", "Input Capture", &[CredentialAccess, Collection]),
    t("T1056.001", "Keylogging", &[CredentialAccess, Collection]),
    t("T1057", "Process Discovery", &[Discovery]),
    t("T1059", "Command and Scripting Interpreter", &[Execution]),
    t("T1059.004", "Unix Shell", &[Execution]),
    t("T1059.006", "Python", &[Execution]),
    t(
        "T1068",
        "Exploitation for Privilege Escalation",
        &[PrivilegeEscalation],
    ),
    t("T1069", "Permission Groups Discovery", &[Discovery]),
    t("T1069.001", "Local Groups", &[Discovery]),
    t("T1070", "Indicator Removal", &[DefenseEvasion]),
    t(
        "T1070.002",
        "Clear Linux or Mac System Logs",
        &[DefenseEvasion],
    ),
    t("T1070.003", "Clear Command History", &[DefenseEvasion]),
    t("T1070.004", "File Deletion", &[DefenseEvasion]),
    t("T1070.006", "Timestomp", &[DefenseEvasion]),
    t("T1071", "Application Layer Protocol", &[CommandAndControl]),
    t("T1071.004", "DNS", &[CommandAndControl]),
    t("T1074", "Data Staged", &[Collection]),
    t("T1074.001", "Local Data Staging", &[Collection]),
    t("T1078", "Valid Accounts", IA_P_PE_DE),
    t("T1078.003", "Local Accounts", IA_P_PE_DE),
    t("T1082", "System Information Discovery", &[Discovery]),
    t("T1083", "File and Directory Discovery", &[Discovery]),
    t("T1087", "Account Discovery", &[Discovery]),
    t("T1087.001", "Local Account", &[Discovery]),
    t("T1087.002", "Domain Account", &[Discovery]),
    t("T1090", "Proxy", &[CommandAndControl]),
    t(
        "T1095",
        "Non-Application Layer Protocol",
        &[CommandAndControl],
    ),
    t("T1098", "Account Manipulation", P_PE),
    t("T1098.004", "SSH Authorized Keys", P_PE),
    t("T1105", "Ingress Tool Transfer", &[CommandAndControl]),
    t("T1106", "Native API", &[Execution]),
    t("T1110", "Brute Force", &[CredentialAccess]),
    t("T1110.001", "Password Guessing", &[CredentialAccess]),
    t("T1110.003", "Password Spraying", &[CredentialAccess]),
    t("T1110.004", "Credential Stuffing", &[CredentialAccess]),
    t("T1113", "Screen Capture", &[Collection]),
    t("T1115", "Clipboard Data", &[Collection]),
    t("T1119", "Automated Collection", &[Collection]),
    t("T1124", "System Time Discovery", &[Discovery]),
    t("T1129", "Shared Modules", &[Execution]),
    t(
        "T1133",
        "External Remote Services",
        &[InitialAccess, Persistence],
    ),
    t("T1136", "Create Account", &[Persistence]),
    t("T1136.001", "Local Account", &[Persistence]),
    t(
        "T1140",
        "Deobfuscate/Decode Files or Information",
        &[DefenseEvasion],
    ),
    t(
        "T1190",
        "Exploit Public-Facing Application",
        &[InitialAccess],
    ),
    t("T1203", "Exploitation for Client Execution", &[Execution]),
    t("T1204", "User Execution", &[Execution]),
    t("T1204.002", "Malicious File", &[Execution]),
    t(
        "T1210",
        "Exploitation of Remote Services",
        &[LateralMovement],
    ),
    t(
        "T1211",
        "Exploitation for Defense Evasion",
        &[DefenseEvasion],
    ),
    t(
        "T1212",
        "Exploitation for Credential Access",
        &[CredentialAccess],
    ),
    t("T1219", "Remote Access Tools", &[CommandAndControl]),
    t(
        "T1222",
        "File and Directory Permissions Modification",
        &[DefenseEvasion],
    ),
    t(
        "T1222.002",
        "Linux and Mac File and Directory Permissions Modification",
        &[DefenseEvasion],
    ),
    t("T1485", "Data Destruction", &[Impact]),
    t("T1486", "Data Encrypted for Impact", &[Impact]),
    t("T1489", "Service Stop", &[Impact]),
    t("T1490", "Inhibit System Recovery", &[Impact]),
    t("T1496", "Resource Hijacking", &[Impact]),
    t(
        "T1497",
        "Virtualization/Sandbox Evasion",
        &[DefenseEvasion, Discovery],
    ),
    t("T1497.001", "System Checks", &[DefenseEvasion, Discovery]),
    t("T1505", "Server Software Component", &[Persistence]),
    t("T1505.003", "Web Shell", &[Persistence]),
    t("T1518", "Software Discovery", &[Discovery]),
    t("T1518.001", "Security Software Discovery", &[Discovery]),
    t("T1529", "System Shutdown/Reboot", &[Impact]),
    t("T1531", "Account Access Removal", &[Impact]),
    t("T1543", "Create or Modify System Process", P_PE),
    t("T1543.002", "Systemd Service", P_PE),
    t("T1546", "Event Triggered Execution", P_PE),
    t("T1546.004", "Unix Shell Configuration Modification", P_PE),
    t("T1547", "Boot or Logon Autostart Execution", P_PE),
    t("T1547.006", "Kernel Modules and Extensions", P_PE),
    t("T1547.013", "XDG Autostart Entries", P_PE),
    t("T1548", "Abuse Elevation Control Mechanism", PE_DE),
    t("T1548.001", "Setuid and Setgid", PE_DE),
    t("T1548.003", "Sudo and Sudo Caching", PE_DE),
    t("T1552", "Unsecured Credentials", &[CredentialAccess]),
    t("T1552.001", "Credentials In Files", &[CredentialAccess]),
    t("T1552.003", "Bash History", &[CredentialAccess]),
    t("T1552.004", "Private Keys", &[CredentialAccess]),
    t("T1552.007", "Container API", &[CredentialAccess]),
    t("T1553", "Subvert Trust Controls", &[DefenseEvasion]),
    t("T1553.004", "Install Root Certificate", &[DefenseEvasion]),
    t("T1554", "Compromise Host Software Binary", &[Persistence]),
    t(
        "T1556",
        "Modify Authentication Process",
        &[Persistence, DefenseEvasion, CredentialAccess],
    ),
    t(
        "T1556.003",
        "Pluggable Authentication Modules",
        &[Persistence, DefenseEvasion, CredentialAccess],
    ),
    t(
        "T1557",
        "Adversary-in-the-Middle",
        &[CredentialAccess, Collection],
    ),
    t("T1560", "Archive Collected Data", &[Collection]),
    t("T1560.001", "Archive via Utility", &[Collection]),
    t("T1561", "Disk Wipe", &[Impact]),
    t("T1561.001", "Disk Content Wipe", &[Impact]),
    t("T1561.002", "Disk Structure Wipe", &[Impact]),
    t("T1562", "Impair Defenses", &[DefenseEvasion]),
    t("T1562.001", "Disable or Modify Tools", &[DefenseEvasion]),
    t(
        "T1562.003",
        "Impair Command History Logging",
        &[DefenseEvasion],
    ),
    t(
        "T1562.004",
        "Disable or Modify System Firewall",
        &[DefenseEvasion],
    ),
    t("T1562.006", "Indicator Blocking", &[DefenseEvasion]),
    t(
        "T1562.012",
        "Disable or Modify Linux Audit System",
        &[DefenseEvasion],
    ),
    t("T1564", "Hide Artifacts", &[DefenseEvasion]),
    t(
        "T1564.001",
        "Hidden Files and Directories",
        &[DefenseEvasion],
    ),
    t("T1565", "Data Manipulation", &[Impact]),
    t("T1567", "Exfiltration Over Web Service", &[Exfiltration]),
    t(
        "T1567.002",
        "Exfiltration to Cloud Storage",
        &[Exfiltration],
    ),
    t("T1568", "Dynamic Resolution", &[CommandAndControl]),
    t("T1569", "System Services", &[Execution]),
    t("T1570", "Lateral Tool Transfer", &[LateralMovement]),
    t("T1571", "Non-Standard Port", &[CommandAndControl]),
    t("T1572", "Protocol Tunneling", &[CommandAndControl]),
    t("T1573", "Encrypted Channel", &[CommandAndControl]),
    t("T1574", "Hijack Execution Flow", P_PE_DE),
    t("T1574.006", "Dynamic Linker Hijacking", P_PE_DE),
    t("T1609", "Container Administration Command", &[Execution]),
    t("T1610", "Deploy Container", &[DefenseEvasion, Execution]),
    t("T1611", "Escape to Host", &[PrivilegeEscalation]),
    t("T1612", "Build Image on Host", &[DefenseEvasion]),
    t("T1613", "Container and Resource Discovery", &[Discovery]),
    t("T1614", "System Location Discovery", &[Discovery]),
    t("T1620", "Reflective Code Loading", &[DefenseEvasion]),
];

/// The technique with this id (`T1059.004`).
pub fn technique(id: &str) -> Option<&'static Technique> {
    TECHNIQUES
        .binary_search_by(|t| t.id.cmp(id))
        .ok()
        .map(|i| &TECHNIQUES[i])
        .or_else(|| AREAS_B_TECHNIQUES.iter().find(|t| t.id == id))
}

// --- Areas B (defense evasion, persistence, privilege escalation, lateral movement) ---
// Appended as its own table so parallel branches do not interleave edits in the sorted one;
// looked up after it. Ids and names from the ATT&CK Enterprise matrix (Linux platform).
static AREAS_B_TECHNIQUES: &[Technique] = &[
    t("T1021.002", "SMB/Windows Admin Shares", &[LateralMovement]),
    t("T1070.008", "Clear Mailbox Data", &[DefenseEvasion]),
    t("T1546.005", "Trap", P_PE),
    t("T1546.018", "Python Startup Hooks", P_PE),
    t("T1569.003", "Systemctl", &[Execution]),
    // Ids the ART extract's tests of areas B carry, so the gate's per-tactic table can place
    // them. T1685/T1686/T1690 are ATT&CK v18's renumbering of Impair Defenses (a Defense
    // Impairment tactic this 12-tactic model does not have): placed under defense evasion,
    // where their v17 ids (T1562.*) sit. Rules keep naming the T1562.* ids.
    t("T1027.001", "Binary Padding", &[DefenseEvasion]),
    t("T1027.002", "Software Packing", &[DefenseEvasion]),
    t("T1027.004", "Compile After Delivery", &[DefenseEvasion]),
    t("T1027.013", "Encrypted/Encoded File", &[DefenseEvasion]),
    t("T1036.007", "Double File Extension", &[DefenseEvasion]),
    t("T1136.002", "Domain Account", &[Persistence]),
    t(
        "T1497.003",
        "Time Based Evasion",
        &[DefenseEvasion, Discovery],
    ),
    t("T1569.002", "Service Execution", &[Execution]),
    t("T1685", "Disable or Modify Tools", &[DefenseEvasion]),
    t(
        "T1685.002",
        "Disable or Modify Cloud Log",
        &[DefenseEvasion],
    ),
    t(
        "T1685.004",
        "Disable or Modify Linux Audit System Log",
        &[DefenseEvasion],
    ),
    t(
        "T1685.006",
        "Clear Linux or Mac System Logs",
        &[DefenseEvasion],
    ),
    t(
        "T1686",
        "Disable or Modify System Firewall",
        &[DefenseEvasion],
    ),
    t(
        "T1690",
        "Prevent Command History Logging",
        &[DefenseEvasion],
    ),
];
// --- end areas B ---

/// The tactics of a technique id, or None for an id this table does not know.
pub fn tactics(id: &str) -> Option<&'static [Tactic]> {
    technique(id).map(|t| t.tactics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        for w in TECHNIQUES.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        for t in TECHNIQUES {
            assert!(!t.tactics.is_empty(), "{}", t.id);
            let (base, sub) = t.id.split_once('.').unwrap_or((t.id, "000"));
            assert!(
                base.len() == 5
                    && base.starts_with('T')
                    && base[1..].bytes().all(|b| b.is_ascii_digit())
                    && sub.len() == 3
                    && sub.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                t.id
            );
            // A sub-technique's parent is known and shares its tactics.
            if t.id.contains('.') {
                let parent = technique(base).unwrap_or_else(|| panic!("{} has no parent", t.id));
                assert_eq!(parent.tactics, t.tactics, "{}", t.id);
            }
        }
    }

    #[test]
    fn areas_b_table_is_well_formed() {
        for t in AREAS_B_TECHNIQUES {
            assert!(
                TECHNIQUES.binary_search_by(|x| x.id.cmp(t.id)).is_err(),
                "{} twice",
                t.id
            );
            let (base, _) = t.id.split_once('.').unwrap_or((t.id, ""));
            let parent = technique(base).unwrap_or_else(|| panic!("{} has no parent", t.id));
            assert_eq!(parent.tactics, t.tactics, "{}", t.id);
            assert_eq!(technique(t.id).map(|x| x.name), Some(t.name));
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(tactics("T1110.001"), Some(&[CredentialAccess][..]));
        assert_eq!(
            tactics("T1053.003"),
            Some(&[Execution, Persistence, PrivilegeEscalation][..])
        );
        assert_eq!(tactics("T9999"), None);
        assert_eq!(
            technique("T1620").map(|t| t.name),
            Some("Reflective Code Loading")
        );
        let used: std::collections::BTreeSet<Tactic> = TECHNIQUES
            .iter()
            .flat_map(|t| t.tactics.iter().copied())
            .collect();
        assert_eq!(used.len(), Tactic::ALL.len(), "every tactic is covered");
    }
}
