//! Timelines: what the timeline pass looks for (each open case's entities, window and alerting
//! records), and the events it adds.

use super::*;

/// One timeline event with the alerts raised on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    #[serde(flatten)]
    pub event: TimelineEvent,
    /// Titles of the rules that fired on this event.
    pub alerts: Vec<String>,
    /// The original record (JSON, or the flow log fields as JSON).
    #[serde(skip)]
    pub raw: String,
}

impl AsRef<TimelineEvent> for TimelineRow {
    fn as_ref(&self) -> &TimelineEvent {
        &self.event
    }
}

/// What the timeline pass looks for: each open case's linking entities, the keys of its
/// alerting records, and its time window.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineTarget {
    pub case: CaseId,
    pub from_ms: i64,
    pub to_ms: i64,
    pub entities: Vec<Entity>,
    pub alerted: Vec<AlertedRecord>,
}

/// A record a case's alert fired on: its key, time and every entity it names (linking or
/// not).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertedRecord {
    pub event_key: String,
    pub time_ms: Option<i64>,
    pub entities: Vec<Entity>,
}

impl Store {
    /// What the timeline pass looks for in open cases; `margin_ms` widens each case's
    /// window on both sides (activity before the first alert matters most).
    pub fn timeline_targets(&self, margin_ms: i64) -> Result<Vec<TimelineTarget>> {
        let mut cases = self.conn.prepare_cached(
            "SELECT id, first_ms, last_ms FROM cases WHERE merged_into IS NULL AND phase != 'closed' ORDER BY id",
        )?;
        let rows: Vec<(CaseId, Option<i64>, Option<i64>)> = cases
            .query_map([], |r| Ok((CaseId(r.get(0)?), r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut ents = self.conn.prepare_cached(
            "SELECT kind, value FROM case_entities WHERE case_id = ?1 AND links = 1",
        )?;
        let mut keys = self
            .conn
            .prepare_cached("SELECT event_key, data, time_ms FROM alerts WHERE case_id = ?1")?;
        let mut out = Vec::new();
        for (id, first, last) in rows {
            let entities = ents
                .query_map([id.0], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .filter_map(|r| {
                    r.map(|(k, v)| EntityKind::from_name(&k).map(|k| Entity::new(k, v)))
                        .transpose()
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            /// The part of an alert's stored record this reads.
            #[derive(serde::Deserialize)]
            struct Named {
                #[serde(default)]
                entities: Vec<Entity>,
            }
            let alerted = keys
                .query_map([id.0], |r| {
                    let data: String = r.get(1)?;
                    Ok(AlertedRecord {
                        event_key: r.get(0)?,
                        time_ms: r.get(2)?,
                        entities: serde_json::from_str::<Named>(&data)
                            .map(|n| n.entities)
                            .unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(TimelineTarget {
                case: id,
                from_ms: first.map_or(i64::MIN, |f| f.saturating_sub(margin_ms)),
                to_ms: last.map_or(i64::MAX, |l| l.saturating_add(margin_ms)),
                entities,
                alerted,
            });
        }
        Ok(out)
    }

    /// Adds events to case timelines: `(event, original record, cases)`. Events already on
    /// a timeline are skipped. One transaction; returns how many (event, case) pairs were new.
    pub fn add_timeline_events(
        &mut self,
        batch: &[(TimelineEvent, String, Vec<CaseId>)],
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (key, time_ms, data, raw) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM events WHERE key = ?1")?;
            let mut link = tx.prepare_cached(
                "INSERT INTO case_events (case_id, event_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for (ev, raw, cases) in batch {
                insert.execute(params![ev.key, ev.time_ms, json(ev), raw])?;
                let id: i64 = find.query_row([&ev.key], |r| r.get(0))?;
                for c in cases {
                    added += link.execute(params![c.0, id])?;
                }
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The case timeline in time order, each event with the alerts raised on it.
    pub fn timeline(&self, id: CaseId) -> Result<Vec<TimelineRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.data, e.raw, e.key FROM case_events ce JOIN events e ON e.id = ce.event_id \
             WHERE ce.case_id = ?1 ORDER BY e.time_ms IS NULL, e.time_ms, e.id",
        )?;
        let rows = stmt
            .query_map([id.0], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in self.alerts(id)? {
            let t = titles.entry(a.event_key).or_default();
            if !t.contains(&a.rule_title) {
                t.push(a.rule_title);
            }
        }
        rows.into_iter()
            .map(|(data, raw, key)| {
                Ok(TimelineRow {
                    event: from_json("events.data", &data)?,
                    alerts: titles.remove(&key).unwrap_or_default(),
                    raw,
                })
            })
            .collect()
    }
}
