//! Read-only admin queries: paged lists with filters.
//!
//! Lists are newest first (`created_at DESC, id DESC`) and paged by offset. The page's ids
//! are picked from an index alone (every filter has one ending in `created_at`, migration
//! 0005), then only those rows are read, so a deep page walks index entries, not rows.

use std::collections::HashMap;

use sqlx::FromRow;
use sqlx::any::AnyRow;

use crate::store::codes::CodeRow;
use crate::store::query::Query;
use crate::store::{Backend, Db};

/// Which page of a list: `limit` rows after `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

/// `/admin/codes` filters; `None` = any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CodeFilter {
    pub app_id: Option<String>,
    pub kind: Option<&'static str>,
    pub page_prefix: Option<String>,
    pub scene: Option<String>,
    /// Unix seconds, inclusive.
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
}

/// A bound value of a built WHERE clause.
enum Arg {
    Text(String),
    Int(i64),
}

/// A WHERE clause with `$n` placeholders and the values they stand for.
#[derive(Default)]
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn push(&mut self, condition: &str, args: impl IntoIterator<Item = Arg>) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        let mut condition = condition.to_owned();
        for arg in args {
            self.args.push(arg);
            condition = condition.replacen('?', &format!("${}", self.args.len()), 1);
        }
        self.sql.push_str(&condition);
    }

    /// Placeholder number for the next value bound after the clause's own.
    fn next(&self, extra: usize) -> String {
        format!("${}", self.args.len() + extra)
    }

    fn bind<'q>(&'q self, mut query: Query<'q>) -> Query<'q> {
        for arg in &self.args {
            query = match arg {
                Arg::Text(s) => query.bind(s),
                Arg::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

fn code_where(db: &Db, f: &CodeFilter) -> Where {
    let mut w = Where::default();
    if let Some(app_id) = &f.app_id {
        w.push("app_id = ?", [Arg::Text(app_id.clone())]);
    }
    if let Some(kind) = f.kind {
        w.push("kind = ?", [Arg::Text(kind.to_owned())]);
    }
    if let Some(prefix) = &f.page_prefix {
        let len = prefix.chars().count() as i64;
        if db.backend() != Backend::Postgres {
            // SQLite and MySQL (utf8mb4_bin) compare text bytewise: the prefix range is
            // an index range.
            let upper = format!("{prefix}\u{10FFFF}");
            w.push(
                "page >= ? AND page < ?",
                [Arg::Text(prefix.clone()), Arg::Text(upper)],
            );
        }
        // Exact everywhere (a PostgreSQL collation may not order by prefix; MySQL's
        // utf8mb4_bin ignores trailing spaces). MySQL casts to SIGNED, not INTEGER.
        let exact = match db.backend() {
            Backend::Mysql => "substr(page, 1, ?) = ?",
            _ => "substr(page, 1, CAST(? AS INTEGER)) = ?",
        };
        w.push(exact, [Arg::Int(len), Arg::Text(prefix.clone())]);
    }
    if let Some(scene) = &f.scene {
        w.push("scene = ?", [Arg::Text(scene.clone())]);
    }
    if let Some(from) = f.created_from {
        w.push("created_at >= ?", [Arg::Int(from)]);
    }
    if let Some(to) = f.created_to {
        w.push("created_at <= ?", [Arg::Int(to)]);
    }
    w
}

const CODE_COLUMNS: &str =
    "id, app_id, kind, hash, file, page, scene, width, params, content_type, size, created_at";

/// Rows a page may step through in creation order before sorting the matches is cheaper.
const SCAN_BUDGET: i64 = 20_000;

/// One page of codes, newest first. `total` (of the filter) lets a page in the older half
/// be read from the oldest end, so an offset never walks more than half the matches. The
/// page's ids come from an index alone; only those rows are then read.
///
/// A page prefix matches a range of pages, so its index cannot give creation order and
/// SQLite sorts every match. When the matches are common enough that walking the creation
/// index (`rows` ~ codes in the table) reaches the page within `SCAN_BUDGET` rows, that
/// walk is used instead.
pub async fn codes(
    db: &Db,
    f: &CodeFilter,
    paging: Paging,
    total: i64,
    rows: i64,
) -> Result<Vec<CodeRow>, sqlx::Error> {
    let w = code_where(db, f);
    let (order, limit, offset) = if paging.offset > total / 2 {
        let end = (paging.offset + paging.limit).min(total);
        ("ASC", end - paging.offset, total - end)
    } else {
        ("DESC", paging.limit, paging.offset)
    };
    let walk = db.backend() == Backend::Sqlite
        && f.page_prefix.is_some()
        && (offset + limit).saturating_mul(rows) / total.max(1) <= SCAN_BUDGET;
    let source = if walk {
        "codes INDEXED BY codes_created"
    } else {
        "codes"
    };
    let sql = format!(
        "SELECT {CODE_COLUMNS} FROM codes WHERE id IN (SELECT id FROM \
         (SELECT id FROM {source}{} ORDER BY created_at {order}, id {order} LIMIT {} OFFSET {}) \
         AS page) ORDER BY created_at DESC, id DESC",
        w.sql,
        w.next(1),
        w.next(2)
    );
    w.bind(db.query(&sql))
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await
}

/// `(newest code id, codes matching f)`, both from one snapshot, so a later count of
/// what was added after that id is exact. The count walks the filter's index.
pub async fn count_codes(db: &Db, f: &CodeFilter) -> Result<(i64, i64), sqlx::Error> {
    let w = code_where(db, f);
    let sql = format!("SELECT COUNT(*) FROM codes{}", w.sql);
    let mut tx = db.pool().begin().await?;
    if db.backend() == Backend::Postgres {
        // One snapshot for both statements (READ COMMITTED takes one per statement).
        db.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let (newest,): (Option<i64>,) = db
        .query("SELECT MAX(id) FROM codes")
        .fetch_one(&mut *tx)
        .await?;
    let (n,): (i64,) = w.bind(db.query(&sql)).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok((newest.unwrap_or(0), n))
}

/// Codes matching `f` with `after < id <= upto`: what was added since a count. Read by id
/// range (SQLite: `NOT INDEXED` keeps the planner off the filter's index, which would walk
/// every older match).
pub async fn count_codes_added(
    db: &Db,
    f: &CodeFilter,
    after: i64,
    upto: i64,
) -> Result<i64, sqlx::Error> {
    let mut w = code_where(db, f);
    w.push("id > ? AND id <= ?", [Arg::Int(after), Arg::Int(upto)]);
    let table = match db.backend() {
        Backend::Sqlite => "codes NOT INDEXED",
        Backend::Postgres => "codes",
        // The primary key's range, not the filter's index (which holds every older match).
        Backend::Mysql => "codes FORCE INDEX (PRIMARY)",
    };
    let sql = format!("SELECT COUNT(*) FROM {table}{}", w.sql);
    let (n,): (i64,) = w.bind(db.query(&sql)).fetch_one(db.pool()).await?;
    Ok(n)
}

/// The newest code id (0 when none). Codes are only ever added and the filtered columns
/// never change, so a count at one newest id plus the matches added after it is exact.
pub async fn newest_code_id(db: &Db) -> Result<i64, sqlx::Error> {
    let (id,): (Option<i64>,) = db
        .query("SELECT MAX(id) FROM codes")
        .fetch_one(db.pool())
        .await?;
    Ok(id.unwrap_or(0))
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub app_id: String,
    pub kind: String,
    pub path: String,
    pub query: String,
    pub env_version: String,
    pub title: String,
    pub permanent: i64,
    pub link: String,
    pub expire_interval: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

/// `/admin/links` filters; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    pub app_id: Option<String>,
    pub kind: Option<&'static str>,
}

fn link_where(f: &LinkFilter) -> Where {
    let mut w = Where::default();
    if let Some(app_id) = &f.app_id {
        w.push("app_id = ?", [Arg::Text(app_id.clone())]);
    }
    if let Some(kind) = f.kind {
        w.push("kind = ?", [Arg::Text(kind.to_owned())]);
    }
    w
}

pub async fn links(db: &Db, f: &LinkFilter, paging: Paging) -> Result<Vec<LinkRow>, sqlx::Error> {
    const COLUMNS: &str = "id, app_id, kind, path, query, env_version, title, permanent, \
                           link, expire_interval, expires_at, created_at";
    newest_first(db, "links", COLUMNS, &link_where(f), paging).await
}

pub async fn count_links(db: &Db, f: &LinkFilter) -> Result<i64, sqlx::Error> {
    count(db, "links", &link_where(f)).await
}

/// A user as the admin list shows it. No session key: it lives in `user_sessions`, which
/// this module never reads.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub app_id: String,
    pub openid: String,
    pub unionid: Option<String>,
    pub phone_number: Option<String>,
    pub country_code: Option<String>,
    pub phone_bound_at: Option<i64>,
    pub created_at: i64,
    pub last_login_at: i64,
}

fn user_where(app_id: Option<&str>) -> Where {
    let mut w = Where::default();
    if let Some(app_id) = app_id {
        w.push("app_id = ?", [Arg::Text(app_id.to_owned())]);
    }
    w
}

pub async fn users(
    db: &Db,
    app_id: Option<&str>,
    paging: Paging,
) -> Result<Vec<UserRow>, sqlx::Error> {
    const COLUMNS: &str = "id, app_id, openid, unionid, phone_number, country_code, \
                           phone_bound_at, created_at, last_login_at";
    newest_first(db, "users", COLUMNS, &user_where(app_id), paging).await
}

pub async fn count_users(db: &Db, app_id: Option<&str>) -> Result<i64, sqlx::Error> {
    count(db, "users", &user_where(app_id)).await
}

/// One page of `table`'s rows matching `w`, newest first: the page's ids come from an
/// index alone, then only those rows are read.
async fn newest_first<T>(
    db: &Db,
    table: &str,
    columns: &str,
    w: &Where,
    paging: Paging,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE id IN (SELECT id FROM \
         (SELECT id FROM {table}{} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}) \
         AS page) ORDER BY created_at DESC, id DESC",
        w.sql,
        w.next(1),
        w.next(2)
    );
    w.bind(db.query(&sql))
        .bind(paging.limit)
        .bind(paging.offset)
        .fetch_all(db.pool())
        .await
}

/// How many of `table`'s rows match `w`.
async fn count(db: &Db, table: &str, w: &Where) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM {table}{}", w.sql);
    let (n,): (i64,) = w.bind(db.query(&sql)).fetch_one(db.pool()).await?;
    Ok(n)
}

/// The times of an app's stored token, without the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    pub expires_at: i64,
    pub refreshed_at: i64,
    pub refresh_count: i64,
}

/// What `/admin/stats` shows of each app, read in one statement.
#[derive(Debug, Default)]
pub struct AppRows {
    /// By appid: the stored token of the given kind.
    pub tokens: HashMap<String, TokenTimes>,
    /// By appid: `(used, exhausted_at)` of the lifetime code quota.
    pub quotas: HashMap<String, (i64, i64)>,
}

/// The `kind` tokens of `token_ids` and the code quota of `quota_ids`, in one statement
/// whatever the number of apps.
pub async fn app_rows(
    db: &Db,
    kind: &str,
    token_ids: &[&str],
    quota_ids: &[&str],
) -> Result<AppRows, sqlx::Error> {
    let mut n = 1; // $1 is the kind
    let mut list = |len: usize| {
        let marks: Vec<String> = (0..len).map(|i| format!("${}", n + 1 + i)).collect();
        n += len;
        if marks.is_empty() {
            "(NULL)".to_owned()
        } else {
            format!("({})", marks.join(", "))
        }
    };
    let sql = format!(
        "SELECT 'token', app_id, expires_at, refreshed_at, refresh_count FROM access_tokens \
         WHERE kind = $1 AND app_id IN {} \
         UNION ALL SELECT 'quota', app_id, used, exhausted_at, used FROM code_quota \
         WHERE app_id IN {}",
        list(token_ids.len()),
        list(quota_ids.len())
    );
    let mut query = db.query(&sql).bind(kind);
    for id in token_ids.iter().chain(quota_ids) {
        query = query.bind(*id);
    }
    let rows: Vec<(String, String, i64, i64, i64)> = query.fetch_all(db.pool()).await?;
    let mut out = AppRows::default();
    for (what, app_id, a, b, c) in rows {
        if what == "token" {
            let times = TokenTimes {
                expires_at: a,
                refreshed_at: b,
                refresh_count: c,
            };
            out.tokens.insert(app_id, times);
        } else {
            out.quotas.insert(app_id, (a, b));
        }
    }
    Ok(out)
}
