-- Offices, enrolment secrets and agents: who may report, and as whom.

create table offices (
    id bigint generated always as identity primary key,
    name text not null unique check (name <> ''),
    created_at timestamptz not null default now()
);

-- Only a SHA-256 of each secret is stored: the secret itself is shown once, at creation.
create table enroll_secrets (
    id bigint generated always as identity primary key,
    office_id bigint not null references offices (id),
    secret_sha256 bytea not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz
);

create table agents (
    id uuid primary key,
    office_id bigint not null references offices (id),
    hostname text not null,
    enrolled_at timestamptz not null default now(),
    enrolled_with bigint references enroll_secrets (id),
    -- The current client certificate; older ones stop working when they expire.
    certificate_serial text not null,
    certificate_not_after timestamptz not null,
    revoked_at timestamptz,
    last_seen_at timestamptz,
    -- Highest report sequence applied: a re-delivered or older report changes nothing.
    last_sequence bigint not null default 0,
    -- SHA-256 of the last inventory content: an unchanged report only moves last_seen_at.
    content_sha256 bytea
);

create index agents_office on agents (office_id);
