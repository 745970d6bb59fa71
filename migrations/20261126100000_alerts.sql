-- Alerts: one row per occurrence of a problem (a certificate lapsing, an agent gone silent, a
-- token that left every host, agents' findings by code and office), with the hosts it lists,
-- its history and an outbox of notifications that delivery channels drain.
--
-- The evaluator decides from these rows alone, in one transaction per evaluation, so a restart
-- or a second server process evaluating the same moment adds nothing: at most one firing alert
-- per key, and a notification is queued only together with the change that causes it.

create table alerts (
    id bigint generated always as identity primary key,
    -- What the problem is, stable across evaluations: `certificate:<sha256>`,
    -- `agent.silent:<agent id>`, `finding:<code>:<office id>`, …
    key text not null,
    -- The finding code it currently stands for (`certificate.expiring`, `agent.silent`, …).
    rule text not null,
    severity text not null check (severity in ('warning', 'critical')),
    -- The office whose settings, silences and maintenance apply; null when its hosts are in
    -- several offices.
    office_id bigint references offices (id),
    subject text not null,
    summary text not null,
    remediation text not null,
    state text not null check (state in ('firing', 'resolved')),
    started_at timestamptz not null,
    resolved_at timestamptz,
    last_evaluated_at timestamptz not null,
    -- When the last fired/escalated/repeat notification was queued; repeats count from it.
    last_notified_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    acknowledged_comment text,
    labels jsonb not null default '{}',
    check ((state = 'resolved') = (resolved_at is not null))
);

create unique index alerts_firing_key on alerts (key) where state = 'firing';
create index alerts_state_office on alerts (state, office_id);

create table alert_hosts (
    alert_id bigint not null references alerts (id) on delete cascade,
    agent_id uuid not null references agents (id) on delete cascade,
    hostname text not null,
    primary key (alert_id, agent_id)
);

create table alert_events (
    id bigint generated always as identity primary key,
    alert_id bigint not null references alerts (id) on delete cascade,
    at timestamptz not null,
    -- fired, escalated, deescalated, resolved, acknowledged, silenced, repeated
    kind text not null,
    severity text,
    actor text,
    detail text not null default ''
);

create index alert_events_alert on alert_events (alert_id, at);

create table alert_notifications (
    id bigint generated always as identity primary key,
    alert_id bigint not null references alerts (id) on delete cascade,
    kind text not null check (kind in ('fired', 'escalated', 'resolved', 'repeat')),
    severity text not null,
    created_at timestamptz not null,
    -- Set by the delivery channel once sent.
    sent_at timestamptz,
    -- One notification of a kind per alert per moment, even if two evaluators raced.
    unique (alert_id, kind, created_at)
);

create index alert_notifications_unsent on alert_notifications (id) where sent_at is null;

-- Silences: alerts matching every given matcher (office, code, certificate, host) keep firing
-- and show as silenced, but queue no notification until `ends_at`.
create table silences (
    id bigint generated always as identity primary key,
    -- {"office_id": 1, "code": "certificate.expiring", "certificate": "<sha256>",
    --  "host": "<agent id>"}; absent keys match anything.
    matchers jsonb not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    comment text not null,
    created_by text not null,
    created_at timestamptz not null default now(),
    check (ends_at > starts_at)
);

-- Maintenance windows: an office's alerts queue no notification while one is open.
create table office_maintenance (
    id bigint generated always as identity primary key,
    office_id bigint not null references offices (id) on delete cascade,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    comment text not null default '',
    check (ends_at > starts_at)
);

create index office_maintenance_office on office_maintenance (office_id, ends_at);

-- Per-office thresholds; a null column keeps the server's `[alerts]` default.
create table office_alert_settings (
    office_id bigint primary key references offices (id) on delete cascade,
    warning_days integer check (warning_days > 0),
    critical_days integer check (critical_days >= 0),
    silent_after_intervals integer check (silent_after_intervals > 0)
);
