-- A SHA-256 of each list of the host's last stored inventory (readers, tokens, containers,
-- certificates, findings, collectors), as {"readers": "<hex>", …}: a changed report rewrites
-- only the lists that differ.
alter table hosts add column section_sha256 jsonb not null default '{}';
