-- Indexes for the inventory lists of the HTTP API: each sort order has an index on its
-- expression and the row id (keyset paging reads a page straight off it), the identifiers IT
-- looks up have their own, and substring search (`q`, `ilike '%…%'`) uses trigram indexes.
-- pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner may create it.

create extension if not exists pg_trgm;

create index certificates_list_not_after on certificates (coalesce(not_after, 'infinity'), id);
create index certificates_list_private_key
    on certificates (coalesce(private_key_not_after, 'infinity'), id);
create index certificates_list_subject on certificates (coalesce(subject_cn, subject), id);
create index certificates_subject_trgm on certificates using gin (subject gin_trgm_ops);
create index certificates_inn on certificates (inn) where inn is not null;
create index certificates_inn_le on certificates (inn_le) where inn_le is not null;
create index certificates_ogrn on certificates (ogrn) where ogrn is not null;
create index certificates_ogrnip on certificates (ogrnip) where ogrnip is not null;
create index certificates_snils on certificates (snils) where snils is not null;

create index agents_list_hostname on agents (hostname, id);
create index agents_list_last_seen on agents (coalesce(last_seen_at, '-infinity'), id);
create index agents_hostname_trgm on agents using gin (hostname gin_trgm_ops);

create index tokens_list_serial on tokens (serial, id);
create index host_tokens_token on host_tokens (token_id) where token_id is not null;

create index host_containers_certificate on host_containers (certificate_sha1)
    where certificate_sha1 is not null;
create index host_containers_list_name on host_containers (coalesce(name, path), container_id);

create index host_findings_severity on host_findings (severity, agent_id);
