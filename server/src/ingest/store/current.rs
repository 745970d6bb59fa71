//! Current-state tables without identities: readers, findings and collector outcomes.

use sqlx::{AssertSqlSafe, PgConnection};
use tokenwatch_proto::v1;

use super::{Changed, Kind, Rows, upsert_sql};
use crate::ingest::convert;

pub(super) async fn readers(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    let rows = Rows::of(changed, |i| &i.readers);
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: &[(&str, Kind)] = &[
        ("name", Kind::Plain("text")),
        ("card_present", Kind::Plain("bool")),
        ("atr", Kind::Plain("text")),
        ("token_model", Kind::Plain("text")),
        ("token_family", Kind::Plain("text")),
        ("in_use_exclusively", Kind::Plain("bool")),
        ("office_id", Kind::OfAgent("office_id")),
        ("hostname", Kind::OfAgent("hostname")),
    ];
    sqlx::query(AssertSqlSafe(upsert_sql("host_readers", COLUMNS)))
        .bind(&rows.agents)
        .bind(&rows.ordinals)
        .bind(rows.column(|r: &v1::Reader| r.name.as_str()))
        .bind(rows.column(|r| r.card_present))
        .bind(rows.column(|r| r.atr.as_deref()))
        .bind(rows.column(|r| r.token_model.as_deref()))
        .bind(rows.column(|r| convert::family(r.token_family)))
        .bind(rows.column(|r| r.in_use_exclusively))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn findings(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    let rows = Rows::of(changed, |i| &i.findings);
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: &[(&str, Kind)] = &[
        ("code", Kind::Plain("text")),
        ("severity", Kind::Plain("text")),
        ("subject", Kind::Plain("text")),
        ("message", Kind::Plain("text")),
        ("remediation", Kind::Plain("text")),
        ("office_id", Kind::OfAgent("office_id")),
        ("hostname", Kind::OfAgent("hostname")),
    ];
    sqlx::query(AssertSqlSafe(upsert_sql("host_findings", COLUMNS)))
        .bind(&rows.agents)
        .bind(&rows.ordinals)
        .bind(rows.column(|f: &v1::Finding| f.code.as_str()))
        .bind(rows.column(|f| convert::severity(f.severity)))
        .bind(rows.column(|f| f.subject.as_str()))
        .bind(rows.column(|f| f.message.as_str()))
        .bind(rows.column(|f| f.remediation.as_str()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn collectors(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    let rows = Rows::of(changed, |i| &i.collectors);
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: &[(&str, Kind)] = &[
        ("name", Kind::Plain("text")),
        ("status", Kind::Plain("text")),
        ("errors", Kind::List),
        ("duration_ms", Kind::Plain("bigint")),
    ];
    sqlx::query(AssertSqlSafe(upsert_sql("host_collectors", COLUMNS)))
        .bind(&rows.agents)
        .bind(&rows.ordinals)
        .bind(rows.column(|c: &v1::CollectorStatus| c.name.as_str()))
        .bind(rows.column(|c| convert::outcome(c.status)))
        .bind(rows.column(|c| convert::json_list(&c.errors)))
        .bind(rows.column(|c| convert::int(c.duration_ms)))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
