-- Delivery of queued notifications to channels (Alertmanager, e-mail, webhooks).
--
-- Routing fans each notification of `alert_notifications` out into one delivery per channel
-- whose route takes it, and then sets the notification's `sent_at`: from then on it is
-- "routed", and each channel's delivery row says whether that channel has it. A delivery that
-- fails is retried with backoff; the channel's own row keeps its last success and failure, so
-- a dead channel shows in the API, the CLI and the metrics.

comment on column alert_notifications.sent_at is
    'When routing handed the notification to its channels (see notification_deliveries).';

create table notification_deliveries (
    notification_id bigint not null references alert_notifications (id) on delete cascade,
    -- The channel's name in the server configuration.
    channel text not null,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null,
    last_error text,
    delivered_at timestamptz,
    -- Set when retrying stopped (`notify.give_up_after`); such a delivery is never sent.
    abandoned_at timestamptz,
    primary key (notification_id, channel),
    check (delivered_at is null or abandoned_at is null)
);

create index notification_deliveries_due on notification_deliveries (channel, next_attempt_at)
    where delivered_at is null and abandoned_at is null;

create table notification_channels (
    name text primary key,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    last_error text,
    -- Attempts that failed since the last success: above zero, the channel is failing.
    consecutive_failures integer not null default 0
);

-- The incremental evaluation after a report finds the alerts that list the reporting host, and
-- the tokens it ever had (a token just taken out is no longer `present` anywhere).
create index alert_hosts_agent on alert_hosts (agent_id);
create index token_sightings_any_agent on token_sightings (agent_id);

-- Rewriting every firing alert at every evaluation only to move this column cost more than
-- the rest of an evaluation at fleet size; it now moves when an evaluation changes the alert.
comment on column alerts.last_evaluated_at is
    'When an evaluation last changed the alert: fired, updated or resolved it.';
