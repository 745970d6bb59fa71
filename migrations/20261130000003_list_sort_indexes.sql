-- Sort orders of the inventory lists that had no index and so sorted every row (with its JSON
-- built) for one page, measured at 100,000 hosts: certificates by first sighting, tokens by
-- model and by first sighting, containers by private-key end, readers by name, findings by
-- severity and by code. Each index ends with the list's row id, the tie-breaker of keyset
-- paging, built from the table's own columns.
create index certificates_list_first_seen on certificates (first_seen_at, id);
create index tokens_list_model on tokens (model, id);
create index tokens_list_first_seen on tokens (first_seen_at, id);
create index host_containers_list_private_key
    on host_containers (coalesce(private_key_not_after, 'infinity'), container_id);
create index host_readers_list_name
    on host_readers (name, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
create index host_findings_list_severity on host_findings (
    (case severity when 'critical' then 0 when 'warning' then 1 when 'info' then 2 else 3 end),
    (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
create index host_findings_list_code
    on host_findings (code, (agent_id::text || ':' || lpad(ordinal::text, 6, '0')));
