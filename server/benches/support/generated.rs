//! A generated fleet for the benchmarks that read the stored inventory: `hosts` hosts in 100
//! offices (host `h`, named `ws-<h>`, is in office `1 + h % 100` and is that office's host
//! number `h / 100`), generated inside PostgreSQL (`insert … select generate_series`), the
//! fastest bulk load there is.
//!
//! Every host has 10 certificates (end dates spread over two years, so about 4 % fall inside the
//! 30-day window), a token and two key containers (1 % of both gone for ten days) and every
//! tenth host an agent finding: what alert evaluation reads. [`Content::Lists`] adds what only
//! the inventory lists show, so that each list has realistic rows: see [`LISTS`].
//!
//! Rows refer to each other by the ids a fresh database hands out in generation order
//! (certificate `c` of the series is row `c`). Patterns that every office must show (a silent
//! host, a gone token, an incomplete container) go by a host's number in its office, so that
//! they hold in every office down to ten hosts an office (`BENCH_SCALE=100`).

use sqlx::PgPool;

/// What the fleet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    /// What alert evaluation reads, and no more: the alerts bench's figures stay comparable
    /// with its earlier runs.
    #[allow(
        dead_code,
        reason = "each bench includes this file; only the alerts bench wants it"
    )]
    Alerts,
    /// Also the rows only the inventory lists show.
    Lists,
}

/// The accredited CAs that issue the hosts' qualified certificates, as a SQL array of subject
/// DNs: host `h` has its certificates from the `1 + h % 4`th (an office keeps to one CA).
macro_rules! issuing_cas {
    () => {
        "array[\
         'CN=ООО \"КОМПАНИЯ ТЕНЗОР\", O=ООО \"КОМПАНИЯ ТЕНЗОР\", OU=Удостоверяющий центр, \
          L=г. Ярославль, S=76 Ярославская область, C=RU, INNLE=7605016030, \
          OGRN=1027600787994, E=ca_tensor@tensor.ru', \
         'CN=АО \"ПФ \"СКБ КОНТУР\", O=АО \"ПФ \"СКБ КОНТУР\", OU=Удостоверяющий центр, \
          L=г. Екатеринбург, S=66 Свердловская область, C=RU, INNLE=6663003127, \
          OGRN=1026605606620, E=ca@skbkontur.ru', \
         'CN=Федеральная налоговая служба, O=Федеральная налоговая служба, L=г. Москва, \
          S=77 Москва, C=RU, INNLE=7707329152, OGRN=1047707030513', \
         'CN=АО \"КАЛУГА АСТРАЛ\", O=АО \"КАЛУГА АСТРАЛ\", L=г. Калуга, \
          S=40 Калужская область, C=RU, INNLE=4029017981, OGRN=1024001434049, \
          E=ca@astral.ru']"
    };
}

/// The root all four issuing CAs chain to.
macro_rules! root_ca {
    () => {
        "'CN=Минцифры России, O=Минцифры России, STREET=улица Тверская, дом 7, L=г. Москва, \
         S=77 Москва, C=RU, INNLE=7710474375, OGRN=1047702026701, E=dit@digital.gov.ru'"
    };
}

/// The token models of the fleet with what their readers and PKCS#11 modules look like, as
/// a `values` list of (model, family, manufacturer, reader, Windows module, Linux module, ATR).
macro_rules! token_models {
    () => {
        "(values \
         ('Rutoken ECP', 'rutoken', 'Aktiv Co.', 'Aktiv Rutoken ECP 00 00', 'rtPKCS11ECP.dll', \
          '/usr/lib/librtpkcs11ecp.so', '3B 8B 01 52 75 74 6F 6B 65 6E 20 44 53 20 C1'), \
         ('Rutoken ECP 3.0', 'rutoken', 'Aktiv Co.', 'Aktiv Rutoken ECP 3.0 00 00', \
          'rtPKCS11ECP.dll', '/usr/lib/librtpkcs11ecp.so', \
          '3B 8B 01 52 75 74 6F 6B 65 6E 20 45 43 50 A0'), \
         ('JaCarta-2 GOST', 'jacarta', 'Aladdin R.D.', 'Aladdin R.D. JaCarta 00 00', \
          'jcPKCS11-2.dll', '/usr/lib/libjcPKCS11-2.so', \
          '3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 0B 03 52 00 05 38'), \
         ('ESMART Token GOST', 'esmart', 'ISBC', 'ESMART Token GOST 00 00', \
          'esmart_pkcs11.dll', '/usr/lib/libesmart_pkcs11.so', \
          '3B 8B 80 01 00 31 C1 64 08 60 32 1F 03 90 00 E3')) \
         as m(model, family, manufacturer, reader, windows_module, linux_module, atr)"
    };
}

/// What every fleet holds. `$1`: the number of hosts; `$2`: whether the lists' content is
/// wanted, for the one column alert evaluation reads that only the lists need.
const FLEET: [&str; 11] = [
    "insert into offices (name) select 'office ' || o from generate_series(1, 100) o",
    "insert into agents (id, office_id, hostname, certificate_serial, certificate_not_after, \
         last_seen_at, enrolled_at) \
     select md5('agent' || h)::uuid, (select min(id) from offices) + h % 100, 'ws-' || h, '01', \
         now() + interval '1 year', now(), \
         now() - abs(hashtext('enrolled' || h)::bigint) % 700 * interval '1 day' \
     from generate_series(1, $1) h",
    // Four hosts in five run Windows; one in ten has an older agent.
    "insert into hosts (agent_id, hostname, os, os_version, arch, agent_version, collected_at, \
         components, updated_at, section_sha256) \
     select g.id, g.hostname, case when w then 'windows' else 'linux' end, \
         case when w then (array['Windows 10 Pro 22H2', 'Windows 11 Pro 23H2', \
                 'Windows 10 Enterprise LTSC 2021'])[1 + h % 3] \
             else (array['Astra Linux 1.7', 'RED OS 7.3'])[1 + h % 2] end, \
         'x86_64', case when h / 100 % 10 = 7 then '0.0.9' else '0.1.0' end, \
         now() - abs(hashtext('collected' || h)::bigint) % 15 * interval '1 minute', \
         jsonb_build_object('cryptopro', jsonb_build_object('installed', true, \
                 'version', '5.0', 'build', '5.0.12455', 'license', \
                 jsonb_build_object('serial_prefix', '5050N', 'for_version', '5.0', \
                     'kind', 'Client', 'permanent', true, 'demo', false)), \
             'smart_card_service', 'running', 'ccid_driver', \
             case when w then null else 'libccid 1.5.2' end, 'middleware', '[]'::jsonb, \
             'pkcs11_modules', jsonb_build_array(jsonb_build_object('path', \
                 case when w then 'rtPKCS11ECP.dll' else '/usr/lib/librtpkcs11ecp.so' end, \
                 'family', 'rutoken')), 'usb_tokens', '[]'::jsonb), \
         now(), jsonb_build_object('findings', md5(g.id::text)) \
     from generate_series(1, $1) h join agents g on g.id = md5('agent' || h)::uuid, \
         lateral (select h / 100 % 5 <> 4 as w) os",
    // Certificate k of a host's ten: 0–6 qualified certificates of a company's staff (0 its
    // director), 7 an individual entrepreneur's, 8 a corporate CA's for the same people, 9 the
    // workstation's own TLS certificate.
    concat!(
        "with person as ( \
             select c, (c - 1) / 10 + 1 as host, (c - 1) % 10 as k, c / 7 % 2000 as org, \
                 (array['Иванов', 'Смирнов', 'Кузнецов', 'Попов', 'Васильев', 'Петров', \
                     'Соколов', 'Михайлов', 'Новиков', 'Фёдоров', 'Морозов', 'Волков', \
                     'Алексеев', 'Лебедев', 'Семёнов', 'Егоров', 'Павлов', 'Козлов', \
                     'Степанов', 'Николаев', 'Орлов', 'Андреев', 'Макаров', 'Никитин', \
                     'Захаров', 'Зайцев', 'Соловьёв', 'Борисов', 'Яковлев', 'Григорьев', \
                     'Романов', 'Воробьёв', 'Сергеев', 'Кузьмин', 'Фролов', 'Александров', \
                     'Дмитриев', 'Королёв', 'Гусев', 'Киселёв'])[1 + c % 40] as surname, \
                 (array['Александр', 'Сергей', 'Дмитрий', 'Андрей', 'Алексей', 'Максим', \
                     'Евгений', 'Иван', 'Михаил', 'Артём', 'Николай', 'Владимир', 'Павел', \
                     'Роман', 'Олег', 'Денис', 'Игорь', 'Константин', 'Юрий', 'Виктор', \
                     'Антон', 'Илья', 'Кирилл', 'Григорий', 'Василий', 'Пётр', 'Степан', \
                     'Фёдор', 'Борис', 'Леонид'])[1 + c / 40 % 30] as given, \
                 (array['Александрович', 'Сергеевич', 'Дмитриевич', 'Андреевич', \
                     'Алексеевич', 'Николаевич', 'Владимирович', 'Михайлович', 'Иванович', \
                     'Петрович', 'Викторович', 'Юрьевич', 'Олегович', 'Павлович', 'Игоревич', \
                     'Евгеньевич', 'Васильевич', 'Борисович', 'Геннадьевич', \
                     'Анатольевич'])[1 + c / 1200 % 20] as patronymic, \
                 now() + (c * 7919 % (730 * 24)) * interval '1 hour' as ends \
             from generate_series(1, $1 * 10) c), \
         named as ( \
             select p.*, surname || ' ' || given || ' ' || patronymic as fio, \
                 'ООО \"' || (array['Ромашка', 'Вектор', 'Альфа', 'Гранит', 'Север', \
                     'Меридиан', 'Радуга', 'Восход', 'Интеграл', 'Прогресс'])[1 + org % 10] \
                     || '-' || org || '\"' as company, \
                 (array['г. Москва', 'г. Санкт-Петербург', 'г. Казань', 'г. Новосибирск', \
                     'г. Екатеринбург', 'г. Нижний Новгород', 'г. Самара', 'г. Ярославль', \
                     'г. Тверь', 'г. Калуга'])[1 + host % 10] as city, \
                 (array['Генеральный директор', 'Главный бухгалтер', 'Бухгалтер', \
                     'Специалист по кадрам', 'Юрист', 'Менеджер по закупкам', \
                     'Экономист'])[1 + least(k, 6)] as title, \
                 lpad((500000000000 + c)::text, 12, '0') as inn, \
                 lpad((c::bigint * 7919 % 100000000000)::text, 11, '0') as snils, \
                 (7700000000 + org)::text as inn_le, (1027700000000 + org)::text as ogrn, \
                 (304770000000000 + c)::text as ogrnip, 'u' || c || '@org' || org || '.ru' \
                     as email, \
                 least(ends - interval '15 months', now() - (1 + c % 90) * interval '1 day') \
                     as starts \
             from person p) \
         insert into certificates (sha256, sha1, serial, subject, issuer, subject_cn, \
             issuer_cn, organization, email, inn, inn_le, ogrn, ogrnip, snils, not_before, \
             not_after, private_key_not_after, key_usage, extended_key_usage, \
             signature_algorithm, public_key_algorithm, qualified, is_ca, self_signed, \
             first_seen_at) \
         select encode(sha256(('cert' || c)::bytea), 'hex'), left(md5('sha1' || c), 40), \
             upper(md5('serial' || c)), \
             case when k < 7 then 'CN=' || fio || ', SN=' || surname || ', G=' || given || ' ' \
                     || patronymic || ', T=' || title || ', O=' || company || ', L=' || city \
                     || ', C=RU, E=' || email || ', INN=' || inn || ', SNILS=' || snils \
                     || ', OGRN=' || ogrn || ', INNLE=' || inn_le \
                 when k = 7 then 'CN=' || fio || ', SN=' || surname || ', G=' || given || ' ' \
                     || patronymic || ', L=' || city || ', C=RU, E=' || email || ', INN=' \
                     || inn || ', SNILS=' || snils || ', OGRNIP=' || ogrnip \
                 when k = 8 then 'CN=' || fio || ', OU=Бухгалтерия, O=АО \"Корпорация\", L=' \
                     || city || ', C=RU, E=' || email \
                 else 'CN=ws-' || host || '.corp.local, OU=Рабочие станции, \
                     O=АО \"Корпорация\", C=RU' end, \
             issuer, case when k < 9 then fio else 'ws-' || host || '.corp.local' end, \
             substring(issuer from '^CN=([^,]+)'), \
             case when k < 7 then company when k > 7 then 'АО \"Корпорация\"' end, \
             case when k < 9 then email end, case when k < 8 then inn end, \
             case when k < 7 then inn_le end, case when k < 7 then ogrn end, \
             case when k = 7 then ogrnip end, case when k < 8 then snils end, \
             starts, ends, \
             case when $2 and k < 8 then starts + interval '15 months' end, \
             case when k < 8 then '{digitalSignature,nonRepudiation,keyEncipherment}'::text[] \
                 else '{digitalSignature,keyEncipherment}' end, \
             '{1.3.6.1.5.5.7.3.2,1.3.6.1.5.5.7.3.4}', 'GOST R 34.11-2012/34.10-2012 256', \
             'GOST R 34.10-2012 256', k < 8, false, false, \
             least(now(), starts + (c % 30) * interval '1 day') \
         from named, lateral (select case when k < 8 then (",
        issuing_cas!(),
        ")[1 + host % 4] else 'CN=Корпоративный УЦ, O=АО \"Корпорация\", C=RU' end \
             as issuer) i"
    ),
    // Certificates 0 and 1 have their keys in the host's two containers.
    "insert into certificate_sightings (certificate_id, agent_id, first_seen_at, present, \
         sources, issuer_present, office_id) \
     select c.id, md5('agent' || ((c.id - 1) / 10 + 1))::uuid, c.first_seen_at, true, \
         case when (c.id - 1) % 10 < 2 then jsonb_build_array(jsonb_build_object( \
                 'kind', 'container', 'location', '/var/opt/cprocsp/keys/u/c' \
                     || (c.id - 1) / 10 * 2 + (c.id - 1) % 10 + 1 || '.000')) \
             when c.qualified then '[{\"kind\": \"cryptopro_store\", \"location\": \"uMy\"}]' \
             else '[{\"kind\": \"file\", \"location\": \"/home/u/certs/corp.cer\"}]' end, \
         c.qualified, (select office_id from agents where id = md5('agent' || ((c.id - 1) / 10 + 1))::uuid) \
     from certificates c",
    "insert into host_findings (agent_id, ordinal, code, severity, subject, message, \
         remediation) \
     select id, 0, 'token.pin_count_low', 'warning', 'token', 'Tries are running out.', \
         'Confirm the PIN.' from agents where hostname like '%0'",
    "insert into tokens (model, serial, first_seen_at) \
     select case when h / 100 % 20 in (3, 9, 15) then 'JaCarta-2 GOST' \
             when h / 100 % 20 in (6, 18) then 'ESMART Token GOST' \
             when h / 100 % 20 in (1, 11, 13, 17) then 'Rutoken ECP 3.0' \
             else 'Rutoken ECP' end, \
         lpad(h::text, 8, '0'), \
         now() - abs(hashtext('token' || h)::bigint) % 700 * interval '1 day' \
     from generate_series(1, $1) h",
    "insert into token_sightings (token_id, agent_id, first_seen_at, present, last_seen_at) \
     select id, md5('agent' || serial::int)::uuid, now() - interval '1 year', id % 100 <> 0, \
         case when id % 100 = 0 then now() - interval '10 days' end \
     from tokens",
    "insert into containers (agent_id, path, name, first_seen_at, certificate_sha1, \
         private_key_not_after, media) \
     select md5('agent' || ((c - 1) / 2 + 1))::uuid, '/var/opt/cprocsp/keys/u/c' || c || '.000', \
         'le-' || c, now() - interval '1 year', \
         left(md5('sha1' || ((c - 1) / 2 * 10 + (c - 1) % 2 + 1)), 40), \
         now() + (c * 4657 % (730 * 24)) * interval '1 hour', \
         case when c % 3 = 0 then 'removable' else 'hdimage' end \
     from generate_series(1, $1 * 2) c",
    "insert into container_sightings (container_id, agent_id, first_seen_at, present, \
         last_seen_at) \
     select id, agent_id, first_seen_at, id % 100 <> 0, \
         case when id % 100 = 0 then now() - interval '10 days' end \
     from containers",
    // The second container of one host in 32 of every office misses a file.
    "insert into host_containers (agent_id, ordinal, container_id, name, path, media, owner, \
         complete, missing_files, damaged_files, key_algorithm, key_algorithm_oid, exportable, \
         certificate_sha1, private_key_not_before, private_key_not_after) \
     select c.agent_id, row_number() over (partition by c.agent_id order by c.id) - 1, c.id, \
         c.name, c.path, c.media, 'u', not broken, \
         case when broken then '{masks2.key}'::text[] else '{}' end, \
         case when broken then '[{\"file\": \"primary2.key\", \"reason\": \"truncated\"}]'::jsonb \
             else '[]' end, \
         'GOST R 34.10-2012 256', '1.2.643.7.1.1.1.1', false, c.certificate_sha1, \
         c.private_key_not_after - interval '15 months', c.private_key_not_after \
     from containers c join container_sightings s on s.container_id = c.id, \
         lateral (select c.id % 2 = 0 and ((c.id - 1) / 2 + 1) / 100 % 32 = 9 as broken) b \
     where s.present",
];

/// What only the lists show, on top of [`FLEET`] (`$1`: the number of hosts): silent hosts,
/// tokens gone or moved in every office, CA certificates on every host, previous certificates
/// (most expired), keys ending soon in every office, the tokens and readers each host lists.
const LISTS: [&str; 10] = [
    // One host in 50 of every office silent for 2 to 21 days.
    "update agents g \
     set last_seen_at = now() - (2 + abs(hashtext('silent' || h)::bigint) % 20) * interval '1 day' \
     from generate_series(1, $1) h \
     where g.id = md5('agent' || h)::uuid and h / 100 % 50 = 3",
    // One token in 100 of every office unplugged days ago and not seen since (token `h` is
    // host `h`'s).
    "update token_sightings set present = false, \
         last_seen_at = now() \
             - (3 + abs(hashtext('gone' || token_id)::bigint) % 20) * interval '1 day' \
     where present and token_id / 100 % 100 = 5",
    // One token in 200 of every office moved here twenty days ago from the next host (in the
    // next office), where it was for the year before.
    "with moved as (update token_sightings set first_seen_at = now() - interval '20 days' \
         where present and token_id / 100 % 200 = 7 returning token_id) \
     insert into token_sightings (token_id, agent_id, first_seen_at, present, last_seen_at) \
     select token_id, md5('agent' || token_id % $1 + 1)::uuid, now() - interval '1 year', \
         false, now() - interval '20 days' \
     from moved",
    // The root (n = 0) and the four issuing CAs.
    concat!(
        "insert into certificates (sha256, sha1, serial, subject, issuer, subject_cn, \
             issuer_cn, organization, inn_le, ogrn, not_before, not_after, key_usage, \
             extended_key_usage, signature_algorithm, public_key_algorithm, qualified, is_ca, \
             self_signed, first_seen_at) \
         select encode(sha256(('ca' || n)::bytea), 'hex'), left(md5('ca-sha1' || n), 40), \
             upper(md5('ca-serial' || n)), dn, root, substring(dn from '^CN=([^,]+)'), \
             substring(root from '^CN=([^,]+)'), substring(dn from ' O=([^,]+)'), \
             substring(dn from 'INNLE=([0-9]+)'), substring(dn from 'OGRN=([0-9]+)'), \
             now() - (4 - n / 2) * interval '1 year', \
             now() + (case when n = 0 then 10 else 2 + n end) * interval '1 year', \
             '{keyCertSign,cRLSign}', '{}', 'GOST R 34.11-2012/34.10-2012 256', \
             'GOST R 34.10-2012 256', false, true, n = 0, now() - interval '2 years' \
         from generate_series(0, 4) n, \
             lateral (select ",
        root_ca!(),
        "::text as root) r, \
             lateral (select case when n = 0 then root else (",
        issuing_cas!(),
        ")[n] end as dn) d"
    ),
    // Every host has the root and its CA in the CryptoPro store.
    "with ca (n, id) as (select n, (select id from certificates \
             where sha256 = encode(sha256(('ca' || n)::bytea), 'hex')) \
         from generate_series(0, 4) n) \
     insert into certificate_sightings (certificate_id, agent_id, first_seen_at, present, \
         sources, issuer_present, office_id) \
     select ca.id, md5('agent' || h)::uuid, now() - interval '1 year', true, \
         jsonb_build_array(jsonb_build_object('kind', 'cryptopro_store', \
             'location', case when n = 0 then 'uRoot' else 'uCA' end)), \
         case when n > 0 then true end, \
         (select office_id from agents where id = md5('agent' || h)::uuid) \
     from generate_series(1, $1) h join ca on ca.n = 0 or ca.n = 1 + h % 4",
    // Four hosts in ten of every office still hold their director's previous certificate:
    // three expired up to two years ago, the fourth ending within the month (the new one
    // already installed beside it).
    "insert into certificates (sha256, sha1, serial, subject, issuer, subject_cn, issuer_cn, \
         organization, email, inn, inn_le, ogrn, ogrnip, snils, not_before, not_after, \
         private_key_not_after, key_usage, extended_key_usage, signature_algorithm, \
         public_key_algorithm, qualified, is_ca, self_signed, first_seen_at) \
     select encode(sha256(('previous' || h)::bytea), 'hex'), \
         left(md5('previous-sha1' || h), 40), upper(md5('previous-serial' || h)), c.subject, \
         c.issuer, c.subject_cn, c.issuer_cn, c.organization, c.email, c.inn, c.inn_le, \
         c.ogrn, c.ogrnip, c.snils, ends - interval '15 months', ends, ends, c.key_usage, \
         c.extended_key_usage, c.signature_algorithm, c.public_key_algorithm, true, false, \
         false, ends - interval '15 months' + interval '3 days' \
     from generate_series(1, $1) h join certificates c on c.id = (h - 1) * 10 + 1, \
         lateral (select case when h / 100 % 10 < 3 \
                 then now() - (1 + abs(hashtext('previous' || h)::bigint) % 700) \
                     * interval '1 day' \
                 else now() + (1 + abs(hashtext('previous' || h)::bigint) % 29) \
                     * interval '1 day' end \
                 as ends) e \
     where h / 100 % 10 < 4",
    "insert into certificate_sightings (certificate_id, agent_id, first_seen_at, present, \
         sources, issuer_present, office_id) \
     select c.id, md5('agent' || h)::uuid, c.first_seen_at, true, \
         '[{\"kind\": \"cryptopro_store\", \"location\": \"uMy\"}]', true, \
         (select office_id from agents where id = md5('agent' || h)::uuid) \
     from generate_series(1, $1) h \
         join certificates c on c.sha256 = encode(sha256(('previous' || h)::bytea), 'hex') \
     where h / 100 % 10 < 4",
    // The key in the first container of one host in 25 of every office ends within the month.
    "update host_containers hc \
     set private_key_not_before = now() - interval '14 months', \
         private_key_not_after = now() \
             + (1 + abs(hashtext('key' || h)::bigint) % 29) * interval '1 day' \
     from generate_series(1, $1) h \
     where hc.agent_id = md5('agent' || h)::uuid and hc.ordinal = 0 and h / 100 % 25 = 8",
    // The token plugged into each host, holding certificates 0 and 1; the host's readers: the
    // token's own and on every other host of an office a smart-card reader, with a card in
    // one host's in ten.
    concat!(
        "insert into host_tokens (agent_id, ordinal, token_id, module, slot_id, \
             slot_description, label, serial, manufacturer, model, token_family, \
             hardware_version, firmware_version, total_memory, free_memory, pin_initialized, \
             pin_user_initialized, pin_locked, pin_count_low, pin_final_try, pin_must_change, \
             pin_so_locked, certificates) \
         select s.agent_id, 0, t.id, \
             case when o.os = 'windows' then m.windows_module else m.linux_module end, 0, \
             m.reader, (array['Бухгалтерия', 'Директор', 'Кадры', 'Закупки', 'ЭДО', \
                 'Банк-клиент'])[1 + t.id % 6], \
             t.serial, m.manufacturer, t.model, m.family, '20.0', '23.2', 65536, \
             20000 + t.id * 37 % 40000, true, true, t.id / 100 % 500 = 11, t.id % 10 = 0, \
             false, t.id / 100 % 33 = 2, false, \
             array[left(md5('sha1' || t.id * 10 - 9), 40), left(md5('sha1' || t.id * 10 - 8), 40)] \
         from token_sightings s join tokens t on t.id = s.token_id \
             join hosts o on o.agent_id = s.agent_id join ",
        token_models!(),
        " on m.model = t.model \
         where s.present"
    ),
    concat!(
        "insert into host_readers (agent_id, ordinal, name, card_present, atr, token_model, \
             token_family, in_use_exclusively) \
         select t.agent_id, 0, m.reader, true, m.atr, t.model, m.family, false \
         from host_tokens t join ",
        token_models!(),
        " on m.model = t.model \
         union all \
         select md5('agent' || h)::uuid, 1, \
             case when h / 100 % 4 = 0 then 'ACS ACR39U ICC Reader 00 00' \
                 else 'Generic Smart Card Reader Interface 00 00' end, card, \
             case when card then '3B 9F 96 80 1F C7 80 31 E0 73 FE 21 1B 63 3A 20 4E 83' end, \
             case when card then 'ESMART Token GOST' end, case when card then 'esmart' end, \
             false \
         from generate_series(1, $1) h, lateral (select h / 100 % 10 = 6 as card) c \
         where h / 100 % 2 = 0"
    ),
];

/// The findings the agents report besides [`FLEET`]'s, from what the hosts hold: certificates
/// ending within 30 days or ended, incomplete containers, tokens locked or with a factory
/// PIN, and a failed collector on one host in 100 of every office.
const FINDINGS: &str = "\
    insert into host_findings (agent_id, ordinal, code, severity, subject, message, \
        remediation) \
    select agent_id, row_number() over (partition by agent_id order by code, subject), code, \
        severity, subject, message, remediation \
    from ( \
        select s.agent_id, 'certificate.expiring' as code, \
            case when c.not_after < now() + interval '7 days' then 'critical' else 'warning' end \
                as severity, \
            'certificate \"' || coalesce(c.subject_cn, c.subject) || '\" (' || c.sha1 || ')' \
                as subject, \
            'The certificate expires in ' || extract(day from c.not_after - now()) \
                || ' days, on ' || to_char(c.not_after, 'YYYY-MM-DD') || '.' as message, \
            'Start re-issuing now: the owner usually has to visit the certification authority \
             in person, which takes days to arrange. After re-issue, install the new \
             certificate with a link to its key and register it again on each trading \
             platform.' as remediation \
        from certificates c join certificate_sightings s on s.certificate_id = c.id and s.present \
        where not c.is_ca and c.not_after >= now() and c.not_after < now() + interval '30 days' \
        union all \
        select s.agent_id, 'certificate.expired', 'critical', \
            'certificate \"' || coalesce(c.subject_cn, c.subject) || '\" (' || c.sha1 || ')', \
            'The certificate expired on ' || to_char(c.not_after, 'YYYY-MM-DD') || '.', \
            'The certificate can no longer be used to sign. Ask the owner to apply to the \
             certification authority for a new one, then install it into the Personal store \
             with a link to its private key.' \
        from certificates c join certificate_sightings s on s.certificate_id = c.id and s.present \
        where not c.is_ca and c.not_after < now() \
        union all \
        select agent_id, 'container.incomplete', 'critical', \
            'container \"' || name || '\" (' || path || ')', \
            'Files of the container are missing: ' || array_to_string(missing_files, ', ') || '.', \
            'A container folder must hold header.key, name.key and a primary/masks pair. Look \
             for a full copy of the same folder on another medium; without one the key must \
             be re-issued.' \
        from host_containers where not complete \
        union all \
        select agent_id, case when pin_locked then 'token.pin_locked' \
                else 'token.pin_must_change' end, \
            case when pin_locked then 'critical' else 'info' end, \
            'token \"' || label || '\" ' || model || ' (serial ' || serial || ')', \
            case when pin_locked then 'The user PIN is locked.' \
                else 'The user PIN is still the factory default.' end, \
            case when pin_locked then 'The administrator (SO) PIN unblocks it with the \
                vendor''s control panel. Never guess PINs.' \
                else 'Change the PIN in the vendor''s control panel before issuing keys onto \
                it.' end \
        from host_tokens where pin_locked or pin_must_change \
        union all \
        select md5('agent' || h)::uuid, 'collector.failed', 'warning', 'collector certificates', \
            'The certificates collector failed: /home/u/certs: permission denied.', \
            'Part of the inventory could not be taken: the findings may be incomplete. Run \
             the scan again as root if it is a permission problem.' \
        from generate_series(1, $1) h where h / 100 % 100 = 4 \
    ) f";

/// The hosts' rows are generated without their agent's office and name (the ingest copies
/// them): filled in at the end, the constraint set again.
const HOST_ROWS: [&str; 3] = ["host_containers", "host_readers", "host_findings"];

/// Which certificates each office holds on how many hosts, as the ingest keeps it.
const OFFICE_CERTIFICATES: &str = "insert into office_certificates (office_id, id, hosts, \
         not_after, private_key_not_after, subject, subject_cn, first_seen_at, qualified, is_ca) \
     select s.office_id, c.id, count(*)::int, c.not_after, c.private_key_not_after, c.subject, \
         c.subject_cn, c.first_seen_at, c.qualified, c.is_ca \
     from certificate_sightings s join certificates c on c.id = s.certificate_id \
     where s.present group by s.office_id, c.id";

/// Generate the fleet of `hosts` hosts into the migrated, empty database of `pool`. Leaves
/// the statistics to the caller (`analyze`).
pub(crate) async fn generate(pool: &PgPool, hosts: i64, content: Content) {
    let lists = content == Content::Lists;
    let extra: &[&str] = if lists { &LISTS } else { &[] };
    let findings: &[&str] = if lists { &[FINDINGS] } else { &[] };
    for table in HOST_ROWS {
        let sql = format!(
            "alter table {table} alter column office_id drop not null, \
                 alter column hostname drop not null"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    }
    for sql in FLEET
        .iter()
        .chain(extra)
        .chain(findings)
        .chain([&OFFICE_CERTIFICATES])
    {
        let mut query = sqlx::query(*sql);
        // Parameters are positional: a statement that takes `$2` takes `$1` too.
        if sql.contains("$1") {
            query = query.bind(hosts);
        }
        if sql.contains("$2") {
            query = query.bind(lists);
        }
        if let Err(error) = query.execute(pool).await {
            panic!("generating the fleet: {error}\n{sql}");
        }
    }
    for table in HOST_ROWS {
        let sql = format!(
            "update {table} t set office_id = g.office_id, hostname = g.hostname \
                 from agents g where g.id = t.agent_id; \
             alter table {table} alter column office_id set not null, \
                 alter column hostname set not null"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    }
}
