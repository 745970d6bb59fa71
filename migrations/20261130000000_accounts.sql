-- People who use the HTTP API and dashboard: local accounts with roles and office scoping,
-- their browser sessions, API tokens for scripts, and the audit log of every change.
--
-- No secret is stored as itself: passwords as Argon2id PHC strings, session cookies and API
-- tokens as SHA-256 digests (they are random 256-bit values, so a fast hash is enough).

create table users (
    id bigint generated always as identity primary key,
    name text not null check (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash text not null,
    role text not null check (role in ('admin', 'operator', 'viewer')),
    -- Sees every office; otherwise only those in `user_offices`.
    all_offices boolean not null,
    created_at timestamptz not null default now(),
    disabled_at timestamptz,
    -- Failed logins in a row, and until when logins are refused after too many.
    failed_logins integer not null default 0,
    locked_until timestamptz
);
create unique index users_name on users (lower(name));

create table user_offices (
    user_id bigint not null references users (id) on delete cascade,
    office_id bigint not null references offices (id) on delete cascade,
    primary key (user_id, office_id)
);

create table sessions (
    token_sha256 bytea primary key,
    user_id bigint not null references users (id) on delete cascade,
    -- Sent back in `X-CSRF-Token` (or a form's `csrf_token`) with every change.
    csrf_token text not null,
    created_at timestamptz not null,
    last_used_at timestamptz not null,
    -- Absolute end; the idle end is `last_used_at` plus the configured idle time.
    expires_at timestamptz not null
);
create index sessions_user on sessions (user_id);

create table api_tokens (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    name text not null check (name <> '' and length(name) <= 100),
    token_sha256 bytea not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz
);
create index api_tokens_user on api_tokens (user_id);

create table audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    -- Who: `user:<name>`, `token:<user>/<token name>`, `config-token`, `cli:<os user>`.
    actor text not null,
    -- What: `alert.acknowledge`, `silence.create`, `user.create`, `login.failed`, …
    action text not null,
    -- On what, readable: `alert 12`, `office "Бухгалтерия"`, `user alice`.
    target text not null,
    -- The office the change belongs to, for office-scoped readers of the log.
    office_id bigint references offices (id) on delete set null,
    details jsonb not null default '{}',
    -- The client's address, for changes made over HTTP.
    source text
);
create index audit_log_at on audit_log (at desc, id desc);
