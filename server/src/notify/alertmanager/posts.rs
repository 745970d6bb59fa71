//! What an Alertmanager channel has posted, kept in `alertmanager_posts` beside the memory of
//! the process delivering ([`super::payload::Held`]): a restarted server, or another process
//! taking delivery over, starts from it rather than from nothing.

use sqlx::PgConnection;
use sqlx::types::Json;

use super::payload::{Held, Postable};

/// What `channel` holds in Alertmanager, as stored. A stored post this version cannot read is
/// skipped (its label set then expires by its own `endsAt`).
pub(super) async fn load(db: &mut PgConnection, channel: &str) -> Result<Held, sqlx::Error> {
    let rows: Vec<(i64, Json<serde_json::Value>)> =
        sqlx::query_as("select alert_id, post from alertmanager_posts where channel = $1")
            .bind(channel)
            .fetch_all(db)
            .await?;
    let posts = rows.into_iter().filter_map(|(id, Json(post))| {
        match serde_json::from_value::<Postable>(post) {
            Ok(post) => Some((id, post)),
            Err(error) => {
                tracing::warn!(message = "Unreadable stored Alertmanager post skipped.", channel, alert = id, %error);
                None
            }
        }
    });
    Ok(Held::from_posts(posts))
}

/// Store what changed from `before` to `after` for `channel`; whether anything did.
pub(super) async fn save(
    db: &mut PgConnection,
    channel: &str,
    before: &Held,
    after: &Held,
) -> Result<bool, sqlx::Error> {
    let (changed, dropped) = after.changes_since(before);
    if changed.is_empty() && dropped.is_empty() {
        return Ok(false);
    }
    if !dropped.is_empty() {
        sqlx::query("delete from alertmanager_posts where channel = $1 and alert_id = any($2)")
            .bind(channel)
            .bind(&dropped)
            .execute(&mut *db)
            .await?;
    }
    if !changed.is_empty() {
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        let posts: Vec<Json<&Postable>> = changed.iter().map(|(_, post)| Json(*post)).collect();
        sqlx::query(
            "insert into alertmanager_posts (channel, alert_id, post) \
             select $1, id, post from unnest($2::bigint[], $3::jsonb[]) as u(id, post) \
             on conflict (channel, alert_id) do update set post = excluded.post",
        )
        .bind(channel)
        .bind(&ids)
        .bind(&posts)
        .execute(&mut *db)
        .await?;
    }
    Ok(true)
}
