//! Versioned schema migrations. `MIGRATIONS[i]` takes the database from `user_version = i` to
//! `i + 1`. Append only: never edit a migration that has shipped.
//!
//! Timestamps are INTEGER nanoseconds since the Unix epoch (UTC), so they compare and prune
//! cheaply and round-trip exactly; severities and states are their snake_case names.

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      INTEGER NOT NULL,
    source  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    pid     INTEGER,
    json    TEXT NOT NULL
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_kind ON events(kind, id);

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    first_ts      INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL,
    entity_key    TEXT NOT NULL,
    title         TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
    status        TEXT NOT NULL CHECK (status IN ('open','closed')),
    finding_count INTEGER NOT NULL DEFAULT 0,
    audit_seq     INTEGER
);
CREATE INDEX incidents_open_entity ON incidents(entity_key, status, last_ts);

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts          INTEGER NOT NULL,
    detector    TEXT NOT NULL,
    technique   TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
    entity_key  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    audit_seq   INTEGER
);
CREATE INDEX findings_incident ON findings(incident_id, ts);

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER REFERENCES incidents(id),
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    dry_run     INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    ttl_secs    INTEGER,
    expires_at  INTEGER,
    state       TEXT NOT NULL,
    audit_seq   INTEGER,
    reason      TEXT NOT NULL
);
CREATE INDEX actions_expiry ON actions(state, expires_at);

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    record_hash TEXT NOT NULL,
    ts          TEXT NOT NULL,
    node_key    TEXT NOT NULL,
    signature   TEXT NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 0),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE positions (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: the action ledger keeps the typed action itself (its JSON) and when it was recorded,
    // so TTL re-assertion can rebuild exactly what was applied.
    r#"
ALTER TABLE actions ADD COLUMN action_json TEXT;
ALTER TABLE actions ADD COLUMN created_at INTEGER;
"#,
    // 3: decisions (score, tier, reasons, planned actions) next to the incidents they are about.
    r#"
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    confidence  REAL NOT NULL,
    tier        TEXT NOT NULL,
    scorer      TEXT NOT NULL,
    json        TEXT NOT NULL,
    audit_seq   INTEGER
);
CREATE INDEX decisions_incident ON decisions(incident_id);
"#,
    // 4: what a responder reported when it applied an action (e.g. the systemd undo), so a
    // restarted agent can revert it exactly.
    r#"
ALTER TABLE actions ADD COLUMN applied_detail TEXT;
"#,
    // 5: a finding's rule author (Sigma attribution) and correlation stage.
    r#"
ALTER TABLE findings ADD COLUMN author TEXT;
ALTER TABLE findings ADD COLUMN stage INTEGER;
"#,
    // 6: the local model — the host baseline's decaying counts (and when it started
    // learning) and operator feedback on incidents, with the features the model saw.
    r#"
CREATE TABLE baseline_counts (
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    count   REAL NOT NULL,
    last_ts INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

CREATE TABLE baseline_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 0),
    started_at INTEGER NOT NULL
);

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    ts          INTEGER NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('benign','malicious')),
    caller_uid  INTEGER,
    entity_key  TEXT NOT NULL,
    features    TEXT NOT NULL,
    audit_seq   INTEGER
);
CREATE INDEX feedback_entity ON feedback(entity_key);
"#,
];
