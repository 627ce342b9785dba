//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: cases, alerts, timelines, collaboration, audit.
    r#"
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    phase TEXT NOT NULL,
    phase_since_ms INTEGER NOT NULL,
    severity TEXT NOT NULL,
    severity_reasons TEXT NOT NULL DEFAULT '[]',
    domains TEXT NOT NULL DEFAULT '[]',
    tactics TEXT NOT NULL DEFAULT '[]',
    techniques TEXT NOT NULL DEFAULT '[]',
    owner TEXT,
    merged_into INTEGER REFERENCES cases(id),
    opened_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    first_ms INTEGER,
    last_ms INTEGER,
    alert_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_open ON cases(phase) WHERE merged_into IS NULL;

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    time_ms INTEGER,
    event_key TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX alerts_case ON alerts(case_id, time_ms);
CREATE INDEX alerts_event ON alerts(event_key);

-- Entities of each case's alerts: what groups alerts and selects timeline events.
CREATE TABLE case_entities (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    links INTEGER NOT NULL,
    first_ms INTEGER,
    last_ms INTEGER,
    PRIMARY KEY (case_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX case_entities_value ON case_entities(kind, value);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    time_ms INTEGER,
    data TEXT NOT NULL,
    raw TEXT NOT NULL
);
CREATE TABLE case_events (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (case_id, event_id)
) WITHOUT ROWID;

CREATE TABLE transitions (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    from_phase TEXT,
    to_phase TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    reason TEXT
);
CREATE INDEX transitions_case ON transitions(case_id, id);

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL,
    owner TEXT,
    due_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    closed_ms INTEGER
);
CREATE TABLE tags (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
) WITHOUT ROWID;

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_case ON audit(case_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
    BEGIN SELECT RAISE(ABORT, 'phase history is append-only'); END;
CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
    BEGIN SELECT RAISE(ABORT, 'phase history is append-only'); END;
"#,
    // 2: the incident response plan's terms for each case (level, SLAs, escalation chain),
    //    and communication notes.
    r#"
ALTER TABLE cases ADD COLUMN response TEXT;
ALTER TABLE cases ADD COLUMN response_since_ms INTEGER;
-- `note`, or `communication`: a stakeholder update (meets the plan's communicate SLA).
ALTER TABLE notes ADD COLUMN kind TEXT NOT NULL DEFAULT 'note';
"#,
    // 3: response plans, their approvals, step receipts and every AWS call made.
    r#"
CREATE TABLE response_plans (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    playbook TEXT NOT NULL,
    digest TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX response_plans_case ON response_plans(case_id, id);
CREATE TABLE response_approvals (
    plan_id INTEGER NOT NULL REFERENCES response_plans(id),
    approver TEXT NOT NULL,
    approval TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (plan_id, approver)
) WITHOUT ROWID;
CREATE TABLE response_steps (
    plan_id INTEGER NOT NULL REFERENCES response_plans(id),
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    receipt TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (plan_id, step)
) WITHOUT ROWID;
CREATE TABLE response_calls (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES response_plans(id),
    step TEXT NOT NULL,
    phase TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    status INTEGER,
    ok INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX response_calls_plan ON response_calls(plan_id, id);
CREATE TRIGGER response_plans_no_update BEFORE UPDATE OF plan, digest ON response_plans
    BEGIN SELECT RAISE(ABORT, 'a response plan is never edited: plan again'); END;
CREATE TRIGGER response_approvals_no_update BEFORE UPDATE ON response_approvals
    BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
CREATE TRIGGER response_approvals_no_delete BEFORE DELETE ON response_approvals
    BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
CREATE TRIGGER response_calls_no_update BEFORE UPDATE ON response_calls
    BEGIN SELECT RAISE(ABORT, 'the call log is append-only'); END;
CREATE TRIGGER response_calls_no_delete BEFORE DELETE ON response_calls
    BEGIN SELECT RAISE(ABORT, 'the call log is append-only'); END;
"#,
    // 4: the store's witness of each case's custody ledger: every entry's hash, as appended.
    r#"
CREATE TABLE custody_witness (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER custody_witness_no_update BEFORE UPDATE ON custody_witness
    BEGIN SELECT RAISE(ABORT, 'the custody witness is append-only'); END;
CREATE TRIGGER custody_witness_no_delete BEFORE DELETE ON custody_witness
    BEGIN SELECT RAISE(ABORT, 'the custody witness is append-only'); END;
"#,
    // 5: write-ahead call journal: every mutating AWS call of a response, recorded before it
    // is sent and settled once with its outcome; never deleted.
    r#"
CREATE TABLE response_intents (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES response_plans(id),
    step TEXT NOT NULL,
    phase TEXT NOT NULL,
    call TEXT NOT NULL,
    intended_ms INTEGER NOT NULL,
    outcome TEXT,
    settled_ms INTEGER
);
CREATE INDEX response_intents_plan ON response_intents(plan_id, step, id);
CREATE TRIGGER response_intents_settle_once BEFORE UPDATE ON response_intents
    WHEN OLD.outcome IS NOT NULL OR NEW.plan_id IS NOT OLD.plan_id OR NEW.step IS NOT OLD.step
      OR NEW.phase IS NOT OLD.phase OR NEW.call IS NOT OLD.call OR NEW.intended_ms IS NOT OLD.intended_ms
    BEGIN SELECT RAISE(ABORT, 'an intended call is settled once and never edited'); END;
CREATE TRIGGER response_intents_no_delete BEFORE DELETE ON response_intents
    BEGIN SELECT RAISE(ABORT, 'the call journal is append-only'); END;
"#,
    // 6: custody entries a writer announced before appending them to the ledger file, so
    // that an entry appended by a writer killed before witnessing it is told apart from one
    // nobody announced (tampering).
    r#"
CREATE TABLE custody_intents (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (case_id, seq, hash)
) WITHOUT ROWID;
CREATE TRIGGER custody_intents_no_update BEFORE UPDATE ON custody_intents
    BEGIN SELECT RAISE(ABORT, 'custody intents are append-only'); END;
CREATE TRIGGER custody_intents_no_delete BEFORE DELETE ON custody_intents
    BEGIN SELECT RAISE(ABORT, 'custody intents are append-only'); END;
"#,
    // 7: the team server's people: local accounts, sign-in sessions and API tokens (secrets
    // only as SHA-256), the append-only access log (sign-ins, failures, account changes), and
    // need-to-know restrictions of cases to named people.
    r#"
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    contact TEXT NOT NULL,
    password TEXT,
    totp_secret TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    csrf TEXT NOT NULL,
    method TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_name TEXT NOT NULL REFERENCES users(name),
    scope TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX access_log_user ON access_log(user_name, at_ms);
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TABLE case_restrictions (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    contact TEXT NOT NULL,
    PRIMARY KEY (case_id, contact)
) WITHOUT ROWID;
CREATE INDEX cases_queue ON cases(updated_ms) WHERE merged_into IS NULL;
-- A case's merged family (its audit log) without scanning every case.
CREATE INDEX cases_merged ON cases(merged_into) WHERE merged_into IS NOT NULL;
ALTER TABLE response_plans ADD COLUMN dry_run TEXT;
CREATE TRIGGER response_plans_dry_run_fixed BEFORE UPDATE OF dry_run ON response_plans
    BEGIN SELECT RAISE(ABORT, 'a response plan is never edited: plan again'); END;
"#,
    // 8: the queue's SLA clocks read each case's first communication note by index; the
    // readiness reports people ran, for the server's readiness page.
    r#"
CREATE INDEX notes_case ON notes(case_id, at_ms, id);
CREATE TABLE readiness_runs (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TRIGGER readiness_runs_no_update BEFORE UPDATE ON readiness_runs
    BEGIN SELECT RAISE(ABORT, 'readiness reports are kept as run'); END;
CREATE TRIGGER readiness_runs_no_delete BEFORE DELETE ON readiness_runs
    BEGIN SELECT RAISE(ABORT, 'readiness reports are kept as run'); END;
"#,
    // 9: game days: every run of a scenario as it ended (append-only), and the cases a
    // team-mode game day opened, marked as exercises wherever they appear.
    r#"
CREATE TABLE gameday_runs (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL,
    scenario TEXT NOT NULL,
    mode TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    actor TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX gameday_runs_finished ON gameday_runs(finished_ms);
CREATE TRIGGER gameday_runs_no_update BEFORE UPDATE ON gameday_runs
    BEGIN SELECT RAISE(ABORT, 'game-day runs are kept as run'); END;
CREATE TRIGGER gameday_runs_no_delete BEFORE DELETE ON gameday_runs
    BEGIN SELECT RAISE(ABORT, 'game-day runs are kept as run'); END;
CREATE TABLE exercise_cases (
    case_id INTEGER PRIMARY KEY REFERENCES cases(id),
    run TEXT NOT NULL,
    scenario TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TRIGGER exercise_cases_no_delete BEFORE DELETE ON exercise_cases
    BEGIN SELECT RAISE(ABORT, 'an exercise stays an exercise'); END;
CREATE TRIGGER exercise_cases_no_update BEFORE UPDATE ON exercise_cases
    BEGIN SELECT RAISE(ABORT, 'an exercise stays an exercise'); END;
"#,
    // 10: post-incident: facts that start regulator clocks, the review's narrative and its
    // finishing, communications sent, a case's resolution (true or false positive), and
    // tasks that are improvement actions with a verification. All append-only.
    r#"
CREATE TABLE case_facts (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    fact TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    note TEXT,
    actor TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL
);
CREATE INDEX case_facts_case ON case_facts(case_id, id);
CREATE TABLE review_narrative (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX review_narrative_case ON review_narrative(case_id, id);
CREATE TABLE review_finished (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE communications (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    audience TEXT NOT NULL,
    regulation TEXT,
    deadline TEXT,
    sent_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    digest TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX communications_case ON communications(case_id, sent_ms);
CREATE TABLE case_resolutions (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    resolution TEXT NOT NULL CHECK (resolution IN ('true-positive', 'false-positive', 'benign')),
    reason TEXT,
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX case_resolutions_case ON case_resolutions(case_id, id);
ALTER TABLE tasks ADD COLUMN action_kind TEXT
    CHECK (action_kind IS NULL OR action_kind IN ('detect', 'prevent', 'mitigate', 'process'));
ALTER TABLE tasks ADD COLUMN verification TEXT;
ALTER TABLE tasks ADD COLUMN verified TEXT;
CREATE TRIGGER case_facts_no_update BEFORE UPDATE ON case_facts
    BEGIN SELECT RAISE(ABORT, 'facts are kept as recorded'); END;
CREATE TRIGGER case_facts_no_delete BEFORE DELETE ON case_facts
    BEGIN SELECT RAISE(ABORT, 'facts are kept as recorded'); END;
CREATE TRIGGER review_narrative_no_update BEFORE UPDATE ON review_narrative
    BEGIN SELECT RAISE(ABORT, 'a review narrative is kept as written'); END;
CREATE TRIGGER review_narrative_no_delete BEFORE DELETE ON review_narrative
    BEGIN SELECT RAISE(ABORT, 'a review narrative is kept as written'); END;
CREATE TRIGGER review_finished_no_update BEFORE UPDATE ON review_finished
    BEGIN SELECT RAISE(ABORT, 'a finished review stays finished'); END;
CREATE TRIGGER review_finished_no_delete BEFORE DELETE ON review_finished
    BEGIN SELECT RAISE(ABORT, 'a finished review stays finished'); END;
CREATE TRIGGER communications_no_update BEFORE UPDATE ON communications
    BEGIN SELECT RAISE(ABORT, 'communications are kept as sent'); END;
CREATE TRIGGER communications_no_delete BEFORE DELETE ON communications
    BEGIN SELECT RAISE(ABORT, 'communications are kept as sent'); END;
CREATE TRIGGER case_resolutions_no_update BEFORE UPDATE ON case_resolutions
    BEGIN SELECT RAISE(ABORT, 'resolutions are kept as recorded'); END;
CREATE TRIGGER case_resolutions_no_delete BEFORE DELETE ON case_resolutions
    BEGIN SELECT RAISE(ABORT, 'resolutions are kept as recorded'); END;
"#,
];
