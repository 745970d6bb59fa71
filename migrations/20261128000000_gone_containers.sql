-- A key container keeps what it last held once it leaves its host (`host_containers` only has
-- the containers present now), so the `container.gone` rule can tell a container that vanished
-- with a usable key from one cleared out after its key lapsed, and can recognise the same
-- container (name and certificate) on another host.
alter table containers
    add column certificate_sha1 text,
    add column private_key_not_after timestamptz,
    add column media text;

update containers c
set certificate_sha1 = hc.certificate_sha1,
    private_key_not_after = hc.private_key_not_after,
    media = hc.media
from host_containers hc
where hc.container_id = c.id;

-- The same container elsewhere is looked up by name.
create index containers_name on containers (name) where name is not null;

-- Gone sightings are few; the gone rules read only those.
create index container_sightings_gone on container_sightings (container_id) where not present;
create index token_sightings_gone on token_sightings (token_id) where not present;

-- The rules read certificates whose validity or key period ends soon: with both ends indexed
-- that is two index scans instead of a scan of every certificate.
create index certificates_private_key_not_after on certificates (private_key_not_after);

-- How long a token or container may be missing from every host before it is alerted on, per
-- office; null keeps `[alerts] gone_after_days`.
alter table office_alert_settings
    add column gone_after_days integer check (gone_after_days > 0);
