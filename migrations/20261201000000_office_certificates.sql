-- Which certificates each office holds, on how many of its hosts (of agents not revoked), with
-- copies of the certificate's columns the list sorts and filters by.
--
-- A reader of one office, or of a few, pages through their own certificates: walking the
-- fleet-wide sort index and checking each certificate's hosts read a hundred certificates for
-- each one shown when the office holds 1 % of the fleet. With this table a page of one office
-- is read straight off its own sort index, and a page of several offices merges each office's
-- first rows. The host count also answers "on how many hosts" without counting sightings,
-- which for a CA certificate on every host meant 100,000 index entries a row.
--
-- The ingest keeps it in the statement that writes certificate sightings (one row per office
-- and certificate, its count moved by the sightings gained and lost); revoking an agent takes
-- its sightings out. A row whose count reaches 0 is deleted. The copied columns never change:
-- a certificate's row is written once, from its DER.
create table office_certificates (
    office_id bigint not null references offices (id) on delete cascade,
    id bigint not null references certificates (id) on delete cascade,
    hosts integer not null,
    not_after timestamptz,
    private_key_not_after timestamptz,
    subject text not null,
    subject_cn text,
    first_seen_at timestamptz not null,
    qualified boolean not null,
    is_ca boolean not null,
    primary key (office_id, id)
) with (fillfactor = 80);

insert into office_certificates (office_id, id, hosts, not_after, private_key_not_after,
    subject, subject_cn, first_seen_at, qualified, is_ca)
select g.office_id, c.id, count(*)::int, c.not_after, c.private_key_not_after, c.subject,
    c.subject_cn, c.first_seen_at, c.qualified, c.is_ca
from certificate_sightings s
join agents g on g.id = s.agent_id and g.revoked_at is null
join certificates c on c.id = s.certificate_id
where s.present
group by g.office_id, c.id;

-- One index per sort order of the list, led by the office (the count is not in any index,
-- so moving it is a HOT update).
create index office_certificates_not_after
    on office_certificates (office_id, coalesce(not_after, 'infinity'), id);
create index office_certificates_private_key
    on office_certificates (office_id, coalesce(private_key_not_after, 'infinity'), id);
create index office_certificates_subject
    on office_certificates (office_id, coalesce(subject_cn, subject), id);
create index office_certificates_first_seen on office_certificates (office_id, first_seen_at, id);
-- The offices of one certificate: whether a reader sees it, and on how many hosts it is.
create index office_certificates_certificate on office_certificates (id, office_id);

-- The office of each sighting's host (agents never change office): a certificate's hosts in
-- the reader's offices are read off one index, even for a CA certificate on every host.
alter table certificate_sightings add column office_id bigint;
update certificate_sightings s set office_id = g.office_id from agents g where g.id = s.agent_id;
alter table certificate_sightings alter column office_id set not null;
create index certificate_sightings_office on certificate_sightings (certificate_id, office_id)
    where present;
