-- What each Alertmanager channel last posted of each alert still firing there, so that a
-- restarted server, or another process taking over delivery, ends a label set that changed
-- meanwhile (an escalation while the server was down) instead of leaving it to expire.
create table alertmanager_posts (
    channel text not null,
    alert_id bigint not null references alerts (id) on delete cascade,
    -- The alert as posted: labels, annotations, startsAt, endsAt.
    post jsonb not null,
    primary key (channel, alert_id)
);
