-- For each host, the SHA-256 of its findings list (`hosts.section_sha256 ->> 'findings'`) as the
-- alert evaluation last decided the office's finding alerts from it. The evaluation after a
-- report whose findings list is still that one need not decide those alerts again, which for
-- a finding shared by a thousand hosts of an office means reading all of them.
create table host_findings_decided (
    agent_id uuid primary key references agents (id) on delete cascade,
    findings_sha256 text not null
);
