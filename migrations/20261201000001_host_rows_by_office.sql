-- The office and host name of each host's current containers, readers and findings, copied
-- from its agent (neither changes after enrolment), with the lists' sort orders indexed
-- within an office. A reader of some offices pages through each office's rows off these
-- indexes, however many offices: joining each office's hosts to their rows instead read every
-- row of every office asked for (about 8 ms an office at 100,000 hosts, 85 ms for ten).
alter table host_containers add column office_id bigint, add column hostname text;
update host_containers t set office_id = g.office_id, hostname = g.hostname
from agents g where g.id = t.agent_id;
alter table host_containers alter column office_id set not null,
    alter column hostname set not null;

alter table host_readers add column office_id bigint, add column hostname text;
update host_readers t set office_id = g.office_id, hostname = g.hostname
from agents g where g.id = t.agent_id;
alter table host_readers alter column office_id set not null,
    alter column hostname set not null;

alter table host_findings add column office_id bigint, add column hostname text;
update host_findings t set office_id = g.office_id, hostname = g.hostname
from agents g where g.id = t.agent_id;
alter table host_findings alter column office_id set not null,
    alter column hostname set not null;

create index host_containers_office_name
    on host_containers (office_id, coalesce(name, path), container_id);
create index host_containers_office_private_key
    on host_containers (office_id, coalesce(private_key_not_after, 'infinity'), container_id);
create index host_containers_office_hostname
    on host_containers (office_id, hostname, container_id);

create index host_readers_office_name
    on host_readers (office_id, name, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
create index host_readers_office_hostname
    on host_readers (office_id, hostname, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));

create index host_findings_office_severity on host_findings (office_id,
    (case severity when 'critical' then 0 when 'warning' then 1 when 'info' then 2 else 3 end),
    (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
create index host_findings_office_code
    on host_findings (office_id, code, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
create index host_findings_office_hostname
    on host_findings (office_id, hostname, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));

