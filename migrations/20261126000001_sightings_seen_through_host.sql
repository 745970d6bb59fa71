-- A sighting that is present is seen whenever its host reports: its last sighting is the host's
-- `agents.last_seen_at`, so an unchanged report writes one row (the agent's) instead of one per
-- token, certificate and container. `last_seen_at` now holds a time only once the sighting is
-- gone: the last report that still listed it.
alter table token_sightings alter column last_seen_at drop not null;
alter table certificate_sightings alter column last_seen_at drop not null;
alter table container_sightings alter column last_seen_at drop not null;

update token_sightings set last_seen_at = null where present;
update certificate_sightings set last_seen_at = null where present;
update container_sightings set last_seen_at = null where present;

alter table token_sightings
    add constraint token_sightings_seen check (present = (last_seen_at is null));
alter table certificate_sightings
    add constraint certificate_sightings_seen check (present = (last_seen_at is null));
alter table container_sightings
    add constraint container_sightings_seen check (present = (last_seen_at is null));

-- Every report rewrites its agent's row and a changed one some current-state rows, none of them
-- in an indexed column: room on each page lets PostgreSQL update them in place (HOT), without
-- new index entries.
alter table agents set (fillfactor = 70);
alter table hosts set (fillfactor = 70);
alter table host_readers set (fillfactor = 80);
alter table host_tokens set (fillfactor = 80);
alter table host_containers set (fillfactor = 80);
alter table host_collectors set (fillfactor = 80);
