-- Inventory: each agent's current state (replaced by every changed report) and global identities
-- of tokens, certificates and containers with per-host sightings, so their history stays visible
-- after they leave a host.
--
-- Enumerations are stored as the lower-case names of the README's contract (`rutoken`, `hdimage`,
-- `critical`); an unspecified value is null.

create table hosts (
    agent_id uuid primary key references agents (id) on delete cascade,
    hostname text not null,
    os text not null,
    os_version text,
    arch text not null,
    agent_version text not null,
    collected_at timestamptz,
    -- The agent's `components` object as JSON; the licence dates are copied out for findings.
    components jsonb not null default '{}',
    csp_license_expires timestamptz,
    csp_license_demo boolean not null default false,
    updated_at timestamptz not null
);

-- === current state, replaced per changed report ===

create table host_readers (
    agent_id uuid not null references agents (id) on delete cascade,
    ordinal integer not null,
    name text not null,
    card_present boolean not null,
    atr text,
    token_model text,
    token_family text,
    in_use_exclusively boolean not null,
    primary key (agent_id, ordinal)
);

create table host_tokens (
    agent_id uuid not null references agents (id) on delete cascade,
    ordinal integer not null,
    -- The global identity; null when the token reports no serial.
    token_id bigint,
    module text not null,
    slot_id bigint not null,
    slot_description text,
    label text not null,
    serial text not null,
    manufacturer text not null,
    model text not null,
    token_family text,
    hardware_version text,
    firmware_version text,
    total_memory bigint,
    free_memory bigint,
    pin_initialized boolean not null,
    pin_user_initialized boolean not null,
    pin_locked boolean not null,
    pin_count_low boolean not null,
    pin_final_try boolean not null,
    pin_must_change boolean not null,
    pin_so_locked boolean not null,
    -- SHA-1 thumbprints, lower-case hex.
    certificates text[] not null,
    primary key (agent_id, ordinal)
);

create table host_containers (
    agent_id uuid not null references agents (id) on delete cascade,
    ordinal integer not null,
    container_id bigint not null,
    name text,
    path text not null,
    media text,
    owner text,
    complete boolean not null,
    missing_files text[] not null,
    -- [{"file": …, "reason": …}]
    damaged_files jsonb not null,
    key_algorithm text,
    key_algorithm_oid text,
    exportable boolean,
    certificate_sha1 text,
    private_key_not_before timestamptz,
    private_key_not_after timestamptz,
    primary key (agent_id, ordinal)
);

create table host_findings (
    agent_id uuid not null references agents (id) on delete cascade,
    ordinal integer not null,
    code text not null,
    severity text,
    subject text not null,
    message text not null,
    remediation text not null,
    primary key (agent_id, ordinal)
);

create index host_findings_code on host_findings (code);

create table host_collectors (
    agent_id uuid not null references agents (id) on delete cascade,
    ordinal integer not null,
    name text not null,
    status text,
    errors text[] not null,
    duration_ms bigint not null,
    primary key (agent_id, ordinal)
);

-- === identities and sightings ===

-- A token is the same token wherever it is plugged in: (model, serial), both trimmed.
create table tokens (
    id bigint generated always as identity primary key,
    model text not null,
    serial text not null check (serial <> ''),
    first_seen_at timestamptz not null,
    unique (model, serial)
);

create table token_sightings (
    token_id bigint not null references tokens (id) on delete cascade,
    agent_id uuid not null references agents (id) on delete cascade,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    -- False once a report from this agent no longer lists the token.
    present boolean not null,
    primary key (token_id, agent_id)
);

create index token_sightings_agent on token_sightings (agent_id) where present;

-- A certificate is the same everywhere by SHA-256 (lower-case hex), or `sha1:<thumbprint>` for a
-- CryptoPro store entry the agent saw without its DER.
create table certificates (
    id bigint generated always as identity primary key,
    sha256 text not null unique,
    sha1 text not null,
    serial text not null,
    subject text not null,
    issuer text not null,
    subject_cn text,
    issuer_cn text,
    organization text,
    email text,
    inn text,
    inn_le text,
    ogrn text,
    ogrnip text,
    snils text,
    not_before timestamptz,
    not_after timestamptz,
    private_key_not_before timestamptz,
    private_key_not_after timestamptz,
    key_usage text[] not null,
    extended_key_usage text[] not null,
    signature_algorithm text not null,
    public_key_algorithm text not null,
    qualified boolean not null,
    subject_sign_tool text,
    is_ca boolean not null,
    self_signed boolean not null,
    authority_key_id text,
    subject_key_id text,
    der bytea,
    first_seen_at timestamptz not null
);

create index certificates_sha1 on certificates (sha1);
create index certificates_not_after on certificates (not_after);

create table certificate_sightings (
    certificate_id bigint not null references certificates (id) on delete cascade,
    agent_id uuid not null references agents (id) on delete cascade,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    present boolean not null,
    -- Where this host keeps its copies, as of the last report that listed it:
    -- [{"kind": "container"|"cryptopro_store"|"file"|"token"|null, "location": …}]
    sources jsonb not null,
    -- Whether the issuer's certificate is on this host (null: self-signed or unknown).
    issuer_present boolean,
    primary key (certificate_id, agent_id)
);

create index certificate_sightings_agent on certificate_sightings (agent_id) where present;

-- A key container is identified by its host and folder path.
create table containers (
    id bigint generated always as identity primary key,
    agent_id uuid not null references agents (id) on delete cascade,
    path text not null,
    name text,
    first_seen_at timestamptz not null,
    unique (agent_id, path)
);

create table container_sightings (
    container_id bigint not null references containers (id) on delete cascade,
    agent_id uuid not null references agents (id) on delete cascade,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    present boolean not null,
    primary key (container_id, agent_id)
);

create index container_sightings_agent on container_sightings (agent_id) where present;
