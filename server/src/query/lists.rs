//! The inventory lists: certificates, tokens, key containers, readers, hosts and findings,
//! each limited to the hosts of the reader's offices (of agents not revoked).

use super::engine::{Column, Filter, Kind, ListSpec, PerOffice, Sort, Value};

/// A host of the reader's offices, as `g` (agents) joined to `o` (offices).
macro_rules! seen_host {
    () => {
        "g.revoked_at is null and ({seen} is null or g.office_id = any({seen}))"
    };
}

const fn filter(
    name: &'static str,
    value: Value,
    sql: &'static str,
    about: &'static str,
) -> Filter {
    Filter {
        name,
        value,
        sql,
        about,
    }
}

/// How a list of hosts' rows (`host_readers r`…) is read office by office: off the table's
/// indexes led by the office (the ingest copies each row's office and host name from its
/// agent), joined to the agent for whether it is revoked and for its filters.
macro_rules! host_rows {
    ($table:literal, $alias:literal, [$($filter:literal),* $(,)?]) => {
        PerOffice {
            from: concat!($table, " ", $alias, " join agents g on g.id = ", $alias, ".agent_id"),
            office: concat!($alias, ".office_id"),
            visible: "g.revoked_at is null",
            row: &[concat!($alias, ".agent_id"), concat!($alias, ".ordinal")],
            office_filter: "office",
            filters: &[$($filter),*],
            sorts: &[("hostname", concat!($alias, ".hostname"))],
        }
    };
}

const fn sort(name: &'static str, expr: &'static str, kind: Kind) -> Sort {
    Sort { name, expr, kind }
}

const fn column(header: &'static str, key: &'static str) -> Column {
    Column {
        header,
        key,
        field: None,
    }
}

const fn joined(header: &'static str, key: &'static str, field: &'static str) -> Column {
    Column {
        header,
        key,
        field: Some(field),
    }
}

/// `office=NAME`: rows of hosts of that office.
const OFFICE: Filter = filter("office", Value::Text, "o.name = {}", "office name");

/// How many of a certificate's hosts its row lists (`host_count` says how many there are): a
/// CA certificate is on every host, and a list of them all helps no one, in JSON or in a
/// spreadsheet cell.
macro_rules! certificate_hosts_listed {
    () => {
        "20"
    };
}

pub static CERTIFICATES: ListSpec = ListSpec {
    name: "certificates",
    about: "Certificates present on at least one host, with how many hosts hold them (and the \
            first 20 of these), the key containers that hold them and their private keys' end.",
    from: "certificates c",
    // Held by an office seen: the offices' counts leave out revoked agents. A probe per row,
    // written so that it cannot become a join: when a subject search's rows were estimated
    // high, the planner hashed all of a region's certificates (100,000 rows for ten offices)
    // to join them, 60 ms, where probing the search's thousand rows takes 5.
    visible: "coalesce((select true from office_certificates oc where oc.id = c.id \
              and ({seen} is null or oc.office_id = any({seen})) limit 1), false)",
    item: concat!(
        "jsonb_build_object('sha256', c.sha256, 'sha1', c.sha1, 'serial', c.serial, \
         'subject', c.subject, 'subject_cn', c.subject_cn, 'issuer', c.issuer, \
         'issuer_cn', c.issuer_cn, 'organization', c.organization, 'email', c.email, \
         'inn', c.inn, 'inn_le', c.inn_le, 'ogrn', c.ogrn, 'ogrnip', c.ogrnip, 'snils', c.snils, \
         'not_before', c.not_before, 'not_after', c.not_after, \
         'private_key_not_after', c.private_key_not_after, 'qualified', c.qualified, \
         'is_ca', c.is_ca, 'signature_algorithm', c.signature_algorithm, \
         'host_count', (select coalesce(sum(oc.hosts), 0) from office_certificates oc \
             where oc.id = c.id and ({seen} is null or oc.office_id = any({seen}))), \
         'hosts', (select coalesce(jsonb_agg(jsonb_build_object('agent_id', h.id, \
                 'hostname', h.hostname, 'office', h.office) order by h.hostname, h.id), '[]') \
             from (select g.id, g.hostname, o.name as office \
                 from certificate_sightings s join agents g on g.id = s.agent_id \
                 join offices o on o.id = g.office_id \
                 where s.certificate_id = c.id and s.present \
                     and ({seen} is null or s.office_id = any({seen})) \
                     and g.revoked_at is null \
                 order by s.agent_id \
                 limit ",
        certificate_hosts_listed!(),
        ") h), \
         'containers', (select coalesce(jsonb_agg(jsonb_build_object('agent_id', g.id, \
                 'hostname', g.hostname, 'name', hc.name, 'path', hc.path, 'media', hc.media, \
                 'private_key_not_after', hc.private_key_not_after) \
                 order by g.hostname, hc.path), '[]') \
             from host_containers hc join agents g on g.id = hc.agent_id \
             where hc.certificate_sha1 = c.sha1 and ",
        seen_host!(),
        "))"
    ),
    id: ("c.id", Kind::Int),
    sorts: &[
        sort("not_after", "coalesce(c.not_after, 'infinity')", Kind::Time),
        sort(
            "private_key_not_after",
            "coalesce(c.private_key_not_after, 'infinity')",
            Kind::Time,
        ),
        sort("subject", "coalesce(c.subject_cn, c.subject)", Kind::Text),
        sort("first_seen", "c.first_seen_at", Kind::Time),
    ],
    filters: &[
        filter(
            "expiring_within_days",
            Value::Count,
            // On the sort expression, so that a range of its index answers it.
            "coalesce(c.not_after, 'infinity') >= {now} \
             and coalesce(c.not_after, 'infinity') < {now} + make_interval(days => ({})::int)",
            "not yet expired, and ending within this many days",
        ),
        filter(
            "expired",
            Value::Bool,
            "(c.not_after < {now}) = {}",
            "ended before now",
        ),
        filter(
            "office",
            Value::Text,
            "exists (select 1 from office_certificates oc join offices o on o.id = oc.office_id \
             where oc.id = c.id and o.name = {} \
                 and ({seen} is null or oc.office_id = any({seen})))",
            "present on a host of this office",
        ),
        filter(
            "issuer",
            Value::Contains,
            "c.issuer ilike {}",
            "issuer DN contains this",
        ),
        filter(
            "qualified",
            Value::Bool,
            "c.qualified = {}",
            "a qualified certificate (63-FZ)",
        ),
        filter("ca", Value::Bool, "c.is_ca = {}", "a CA certificate"),
        filter(
            "inn",
            Value::Text,
            "(c.inn = {} or c.inn_le = {})",
            "INN of a person or of a legal entity",
        ),
        filter(
            "ogrn",
            Value::Text,
            "(c.ogrn = {} or c.ogrnip = {})",
            "OGRN or OGRNIP",
        ),
        filter("snils", Value::Text, "c.snils = {}", "SNILS"),
        filter(
            "q",
            Value::Contains,
            "c.subject ilike {}",
            "subject DN contains this",
        ),
    ],
    columns: &[
        column("subject_cn", "subject_cn"),
        column("organization", "organization"),
        column("inn", "inn"),
        column("inn_le", "inn_le"),
        column("ogrn", "ogrn"),
        column("snils", "snils"),
        column("issuer_cn", "issuer_cn"),
        column("serial", "serial"),
        column("not_before", "not_before"),
        column("not_after", "not_after"),
        column("private_key_not_after", "private_key_not_after"),
        column("qualified", "qualified"),
        column("host_count", "host_count"),
        joined("hosts", "hosts", "hostname"),
        joined("containers", "containers", "name"),
        column("sha1", "sha1"),
    ],
    per_office: Some(&CERTIFICATES_PER_OFFICE),
};

/// Which certificates each office holds (`office_certificates`, kept by the ingest).
static CERTIFICATES_PER_OFFICE: PerOffice = PerOffice {
    from: "office_certificates c",
    office: "c.office_id",
    // Only certificates on hosts of agents not revoked are counted.
    visible: "true",
    row: &["c.id"],
    sorts: &[],
    office_filter: "office",
    filters: &["expiring_within_days", "expired", "qualified", "ca"],
};

pub static TOKENS: ListSpec = ListSpec {
    name: "tokens",
    about: "Tokens (model and serial) seen on a host, where each is now and where it was before.",
    from: "tokens t",
    visible: concat!(
        "exists (select 1 from token_sightings s join agents g on g.id = s.agent_id \
         where s.token_id = t.id and ",
        seen_host!(),
        ")"
    ),
    item: concat!(
        "jsonb_build_object('id', t.id, 'model', t.model, 'serial', t.serial, \
         'first_seen_at', t.first_seen_at, \
         'now', (select coalesce(jsonb_agg(jsonb_build_object('agent_id', g.id, \
                 'hostname', g.hostname, 'office', o.name, 'label', ht.label, \
                 'free_memory', ht.free_memory, 'pin_locked', ht.pin_locked, \
                 'pin_count_low', ht.pin_count_low) order by g.hostname), '[]') \
             from token_sightings s join agents g on g.id = s.agent_id \
             join offices o on o.id = g.office_id \
             left join host_tokens ht on ht.agent_id = s.agent_id and ht.token_id = t.id \
             where s.token_id = t.id and s.present and ",
        seen_host!(),
        "), \
         'history', (select coalesce(jsonb_agg(jsonb_build_object('agent_id', g.id, \
                 'hostname', g.hostname, 'office', o.name, 'first_seen_at', s.first_seen_at, \
                 'last_seen_at', s.last_seen_at, 'present', s.present) \
                 order by s.last_seen_at desc, g.hostname), '[]') \
             from token_sightings s join agents g on g.id = s.agent_id \
             join offices o on o.id = g.office_id \
             where s.token_id = t.id and ",
        seen_host!(),
        "))"
    ),
    id: ("t.id", Kind::Int),
    sorts: &[
        sort("serial", "t.serial", Kind::Text),
        sort("model", "t.model", Kind::Text),
        sort("first_seen", "t.first_seen_at", Kind::Time),
    ],
    filters: &[
        filter(
            "office",
            Value::Text,
            concat!(
                "exists (select 1 from token_sightings s join agents g on g.id = s.agent_id \
                 join offices o on o.id = g.office_id \
                 where s.token_id = t.id and s.present and o.name = {} and ",
                seen_host!(),
                ")"
            ),
            "plugged into a host of this office now",
        ),
        filter(
            "model",
            Value::Contains,
            "t.model ilike {}",
            "model contains this",
        ),
        filter("serial", Value::Text, "t.serial = {}", "this serial"),
        filter(
            "present",
            Value::Bool,
            // Not plugged in anywhere. For a reader of some offices such a token was last seen
            // on a host of theirs, so the few sightings that ended there lead to it (looked up
            // by id) rather than every token checked in turn; for a reader of every office,
            // whose ended sightings would each need their agent checked, tokens are checked
            // in serial order, most of them visible.
            concat!(
                "case when {} \
                 then exists (select 1 from token_sightings s \
                     where s.token_id = t.id and s.present) \
                 when {seen} is null \
                 then not exists (select 1 from token_sightings s \
                     where s.token_id = t.id and s.present) \
                 else t.id = any(array(select s.token_id from token_sightings s \
                         join agents g on g.id = s.agent_id where not s.present and ",
                seen_host!(),
                ")) \
                     and not exists (select 1 from token_sightings s \
                         where s.token_id = t.id and s.present) end"
            ),
            "plugged in somewhere now",
        ),
        filter(
            "q",
            Value::Contains,
            "(t.serial ilike {} or t.model ilike {})",
            "serial or model contains this",
        ),
    ],
    columns: &[
        column("model", "model"),
        column("serial", "serial"),
        joined("now_on", "now", "hostname"),
        joined("office", "now", "office"),
        joined("label", "now", "label"),
        joined("history", "history", "hostname"),
        column("first_seen_at", "first_seen_at"),
    ],
    per_office: None,
};

pub static CONTAINERS: ListSpec = ListSpec {
    name: "containers",
    about: "CryptoPro key containers as the hosts list them now.",
    from: "host_containers hc join agents g on g.id = hc.agent_id join offices o on o.id = g.office_id",
    visible: seen_host!(),
    item: "jsonb_build_object('container_id', hc.container_id, 'agent_id', g.id, \
           'hostname', g.hostname, 'office', o.name, 'name', hc.name, 'path', hc.path, \
           'media', hc.media, 'owner', hc.owner, 'complete', hc.complete, \
           'missing_files', hc.missing_files, 'damaged_files', hc.damaged_files, \
           'key_algorithm', hc.key_algorithm, 'exportable', hc.exportable, \
           'certificate_sha1', hc.certificate_sha1, \
           'private_key_not_before', hc.private_key_not_before, \
           'private_key_not_after', hc.private_key_not_after)",
    id: ("hc.container_id", Kind::Int),
    sorts: &[
        sort("name", "coalesce(hc.name, hc.path)", Kind::Text),
        sort(
            "private_key_not_after",
            "coalesce(hc.private_key_not_after, 'infinity')",
            Kind::Time,
        ),
        sort("hostname", "g.hostname", Kind::Text),
    ],
    filters: &[
        OFFICE,
        filter(
            "complete",
            Value::Bool,
            "hc.complete = {}",
            "all of the container's files are there",
        ),
        filter(
            "media",
            Value::Text,
            "hc.media = {}",
            "hdimage, registry, removable, token, …",
        ),
        filter(
            "expiring_within_days",
            Value::Count,
            "hc.private_key_not_after >= {now} \
             and hc.private_key_not_after < {now} + make_interval(days => ({})::int)",
            "the private key ends within this many days",
        ),
        filter("hostname", Value::Text, "g.hostname = {}", "on this host"),
        filter(
            "q",
            Value::Contains,
            "(hc.name ilike {} or hc.path ilike {})",
            "name or path contains this",
        ),
    ],
    columns: &[
        column("hostname", "hostname"),
        column("office", "office"),
        column("name", "name"),
        column("path", "path"),
        column("media", "media"),
        column("complete", "complete"),
        column("missing_files", "missing_files"),
        column("private_key_not_after", "private_key_not_after"),
        column("certificate_sha1", "certificate_sha1"),
    ],
    per_office: Some(&CONTAINERS_PER_OFFICE),
};

static CONTAINERS_PER_OFFICE: PerOffice = host_rows!(
    "host_containers",
    "hc",
    ["complete", "media", "expiring_within_days", "hostname", "q"]
);

pub static READERS: ListSpec = ListSpec {
    name: "readers",
    about: "PC/SC readers as the hosts list them now, with the token in each.",
    from: "host_readers r join agents g on g.id = r.agent_id join offices o on o.id = g.office_id",
    visible: seen_host!(),
    item: "jsonb_build_object('agent_id', g.id, 'hostname', g.hostname, 'office', o.name, \
           'name', r.name, 'card_present', r.card_present, 'atr', r.atr, \
           'token_model', r.token_model, 'token_family', r.token_family, \
           'in_use_exclusively', r.in_use_exclusively)",
    id: (
        // From the reader's own columns, so that an index on the table can hold it.
        "r.agent_id::text || ':' || lpad(r.ordinal::text, 6, '0')",
        Kind::Text,
    ),
    sorts: &[
        sort("hostname", "g.hostname", Kind::Text),
        sort("name", "r.name", Kind::Text),
    ],
    filters: &[
        OFFICE,
        filter(
            "card_present",
            Value::Bool,
            "r.card_present = {}",
            "a card or token is in it",
        ),
        filter(
            "token_model",
            Value::Contains,
            "r.token_model ilike {}",
            "the token's model contains this",
        ),
        filter("hostname", Value::Text, "g.hostname = {}", "on this host"),
        filter(
            "q",
            Value::Contains,
            "r.name ilike {}",
            "the reader's name contains this",
        ),
    ],
    columns: &[
        column("hostname", "hostname"),
        column("office", "office"),
        column("name", "name"),
        column("card_present", "card_present"),
        column("token_model", "token_model"),
        column("atr", "atr"),
    ],
    per_office: Some(&READERS_PER_OFFICE),
};

static READERS_PER_OFFICE: PerOffice = host_rows!(
    "host_readers",
    "r",
    ["card_present", "token_model", "hostname", "q"]
);

pub static HOSTS: ListSpec = ListSpec {
    name: "hosts",
    about: "Enrolled hosts with what their agent last reported and their current findings.",
    from: "agents g join offices o on o.id = g.office_id left join hosts h on h.agent_id = g.id",
    visible: seen_host!(),
    item: "jsonb_build_object('agent_id', g.id, 'hostname', g.hostname, 'office', o.name, \
           'os', h.os, 'os_version', h.os_version, 'arch', h.arch, \
           'agent_version', h.agent_version, 'enrolled_at', g.enrolled_at, \
           'last_seen_at', g.last_seen_at, 'collected_at', h.collected_at, \
           'findings', (select coalesce(jsonb_agg(jsonb_build_object('code', f.code, \
                   'severity', f.severity, 'subject', f.subject) order by f.ordinal), '[]') \
               from host_findings f where f.agent_id = g.id))",
    id: ("g.id", Kind::Uuid),
    sorts: &[
        sort("hostname", "g.hostname", Kind::Text),
        sort(
            "last_seen",
            "coalesce(g.last_seen_at, '-infinity')",
            Kind::Time,
        ),
        sort("office", "o.name", Kind::Text),
    ],
    filters: &[
        OFFICE,
        filter(
            "os",
            Value::Contains,
            "h.os ilike {}",
            "operating system contains this",
        ),
        filter(
            "agent_version",
            Value::Text,
            "h.agent_version = {}",
            "agent version",
        ),
        filter(
            "silent_for_hours",
            Value::Count,
            "coalesce(g.last_seen_at, '-infinity') < {now} - make_interval(hours => ({})::int)",
            "no report for at least this many hours",
        ),
        filter(
            "finding",
            Value::Text,
            "exists (select 1 from host_findings f where f.agent_id = g.id and f.code = {})",
            "has a finding of this code",
        ),
        filter(
            "severity",
            Value::Text,
            "exists (select 1 from host_findings f where f.agent_id = g.id and f.severity = {})",
            "has a finding of this severity (critical, warning, info)",
        ),
        filter(
            "q",
            Value::Contains,
            "g.hostname ilike {}",
            "host name contains this",
        ),
    ],
    columns: &[
        column("hostname", "hostname"),
        column("office", "office"),
        column("os", "os"),
        column("os_version", "os_version"),
        column("agent_version", "agent_version"),
        column("last_seen_at", "last_seen_at"),
        joined("findings", "findings", "code"),
        column("agent_id", "agent_id"),
    ],
    per_office: None,
};

pub static FINDINGS: ListSpec = ListSpec {
    name: "findings",
    about: "Hosts' current findings, worst first, with the remediation for each.",
    from: "host_findings f join agents g on g.id = f.agent_id join offices o on o.id = g.office_id",
    visible: seen_host!(),
    item: "jsonb_build_object('agent_id', g.id, 'hostname', g.hostname, 'office', o.name, \
           'code', f.code, 'severity', f.severity, 'subject', f.subject, \
           'message', f.message, 'remediation', f.remediation)",
    id: (
        // From the finding's own columns, so that an index on the table can hold it.
        "f.agent_id::text || ':' || lpad(f.ordinal::text, 6, '0')",
        Kind::Text,
    ),
    sorts: &[
        sort(
            "severity",
            "case f.severity when 'critical' then 0 when 'warning' then 1 \
             when 'info' then 2 else 3 end",
            Kind::Int,
        ),
        sort("code", "f.code", Kind::Text),
        sort("hostname", "g.hostname", Kind::Text),
    ],
    filters: &[
        OFFICE,
        filter(
            "code",
            Value::Text,
            "f.code = {}",
            "finding code, e.g. container.incomplete",
        ),
        filter(
            "severity",
            Value::Text,
            "f.severity = {}",
            "critical, warning or info",
        ),
        filter("hostname", Value::Text, "g.hostname = {}", "on this host"),
        filter(
            "q",
            Value::Contains,
            "(f.subject ilike {} or g.hostname ilike {})",
            "subject or host name contains this",
        ),
    ],
    columns: &[
        column("severity", "severity"),
        column("code", "code"),
        column("hostname", "hostname"),
        column("office", "office"),
        column("subject", "subject"),
        column("message", "message"),
        column("remediation", "remediation"),
    ],
    per_office: Some(&FINDINGS_PER_OFFICE),
};

static FINDINGS_PER_OFFICE: PerOffice =
    host_rows!("host_findings", "f", ["code", "severity", "hostname", "q"]);

/// Every list, by its path.
pub static ALL: [&ListSpec; 6] = [
    &CERTIFICATES,
    &TOKENS,
    &CONTAINERS,
    &READERS,
    &HOSTS,
    &FINDINGS,
];
