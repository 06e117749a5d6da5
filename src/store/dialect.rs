//! The one place where the three databases' SQL differs (the convention is at the top of
//! `src/store/mod.rs`). Store code writes each statement once, in the SQLite/PostgreSQL
//! form; on MySQL/MariaDB that text is translated once (then cached) into a `Plan`:
//!
//! - `$N` becomes `?`; each `?` remembers which bound value it takes, so a value used
//!   twice or out of order is bound once, in `$N` order, by the caller.
//! - `ON CONFLICT (key) DO UPDATE SET a = excluded.a, b = t.b + 1` becomes
//!   `ON DUPLICATE KEY UPDATE a = VALUES(a), b = b + 1` (assignments read the stored row,
//!   left to right, as in PostgreSQL when no assignment reads a column set before it).
//! - With a `WHERE` on the update (a conditional upsert) MySQL's affected-row count cannot
//!   say whether the condition held (sqlx connects with CLIENT_FOUND_ROWS), so the plan is
//!   `UPDATE t SET ... WHERE key = new key AND (condition)`, then, when no row matched,
//!   the plain `INSERT`, then, when that hits the key (a concurrent insert), the update
//!   once more. `rows_affected()` is then 1 exactly when a row was written, as elsewhere.
//! - `RETURNING id` becomes `last_insert_id` (an upsert adds `id = LAST_INSERT_ID(id)`,
//!   so a kept row gives its own id); `RETURNING` other columns re-reads the row by id.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One statement for MySQL: its text and, per `?`, the index of the bound value it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub sql: String,
    pub args: Vec<usize>,
}

/// How a portable statement runs on MySQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// One statement.
    One(Stmt),
    /// An insert (or upsert) whose `RETURNING id` is the connection's last insert id;
    /// `select` (`... WHERE id = ?`) re-reads other returned columns.
    Returning {
        insert: Stmt,
        select: Option<String>,
    },
    /// A conditional upsert: `update`, else `insert`, else (key taken meanwhile) `update`.
    UpsertIf { update: Stmt, insert: Stmt },
}

/// Translated statements by their portable text. The texts are a fixed set (the admin
/// filters combine into a few dozen), so the cache stays small.
#[derive(Debug, Default)]
pub struct PlanCache(RwLock<HashMap<String, Arc<Plan>>>);

impl PlanCache {
    pub fn get(&self, portable: &str) -> Arc<Plan> {
        if let Some(plan) = self
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(portable)
        {
            return plan.clone();
        }
        let plan = Arc::new(translate(portable));
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(portable.to_owned())
            .or_insert(plan)
            .clone()
    }
}

/// Translates a portable statement for MySQL. Panics on a statement outside the
/// convention (a programming error every MySQL test run would show).
pub fn translate(portable: &str) -> Plan {
    let (body, returning) = match split_top(portable, " RETURNING ") {
        Some((body, cols)) => (body, Some(cols.trim())),
        None => (portable, None),
    };
    let Some((insert, conflict)) = split_top(body, " ON CONFLICT (") else {
        let stmt = placeholders(body);
        return match returning {
            None => Plan::One(stmt),
            Some(cols) => Plan::Returning {
                select: reread(body, cols),
                insert: stmt,
            },
        };
    };
    let (key, action) = conflict
        .split_once(") DO UPDATE SET ")
        .unwrap_or_else(|| panic!("ON CONFLICT needs `(key) DO UPDATE SET`: {portable}"));
    let table = insert_table(insert);
    let values = insert_values(insert);
    let (set, condition) = match split_top(action, " WHERE ") {
        Some((set, condition)) => (set, Some(condition)),
        None => (action, None),
    };
    match condition {
        Some(condition) => {
            assert!(returning.is_none(), "a conditional upsert returns no row");
            let new = |e: &str| replace_excluded(e, |col| values[col].to_owned());
            let mut sql = format!("UPDATE {table} SET {} WHERE ", unqualify(&new(set), table));
            for (i, k) in key.split(',').map(str::trim).enumerate() {
                let value = values
                    .get(k)
                    .unwrap_or_else(|| panic!("key column {k} is not inserted: {portable}"));
                sql.push_str(&format!(
                    "{}{k} = {value}",
                    if i > 0 { " AND " } else { "" }
                ));
            }
            sql.push_str(&format!(" AND ({})", unqualify(&new(condition), table)));
            Plan::UpsertIf {
                update: placeholders(&sql),
                insert: placeholders(insert),
            }
        }
        None => {
            let set = replace_excluded(set, |col| format!("VALUES({col})"));
            let mut sql = format!(
                "{insert} ON DUPLICATE KEY UPDATE {}",
                unqualify(&set, table)
            );
            match returning {
                None => Plan::One(placeholders(&sql)),
                Some(cols) => {
                    sql.push_str(", id = LAST_INSERT_ID(id)");
                    Plan::Returning {
                        insert: placeholders(&sql),
                        select: reread(insert, cols),
                    }
                }
            }
        }
    }
}

/// `$N` → `?`, recording N - 1 per `?`.
fn placeholders(sql: &str) -> Stmt {
    let mut out = String::with_capacity(sql.len());
    let mut args = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(&(_, d)) = chars.peek() {
            let Some(digit) = d.to_digit(10) else { break };
            n = n * 10 + digit as usize;
            chars.next();
        }
        assert!(n > 0, "`$` without a number: {sql}");
        args.push(n - 1);
        out.push('?');
    }
    Stmt { sql: out, args }
}

/// `SELECT cols FROM t WHERE id = ?` for `RETURNING cols` other than `id` alone.
fn reread(insert: &str, cols: &str) -> Option<String> {
    (cols != "id").then(|| format!("SELECT {cols} FROM {} WHERE id = ?", insert_table(insert)))
}

/// The table of `INSERT INTO t (...)`.
fn insert_table(insert: &str) -> &str {
    insert
        .trim_start()
        .strip_prefix("INSERT INTO ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("not an INSERT INTO: {insert}"))
}

/// Column → its inserted expression, from `INSERT INTO t (a, b) VALUES ($1, 0)`.
fn insert_values(insert: &str) -> HashMap<&str, &str> {
    let open = insert.find('(').expect("an INSERT names its columns");
    let close = open + insert[open..].find(')').expect("column list closes");
    let (_, values) = split_top(insert, " VALUES (").expect("an INSERT has VALUES (...)");
    let values = values
        .trim_end()
        .strip_suffix(')')
        .expect("VALUES (...) ends it");
    let cols: Vec<&str> = insert[open + 1..close].split(',').map(str::trim).collect();
    let vals = split_commas(values);
    assert_eq!(cols.len(), vals.len(), "columns and values: {insert}");
    cols.into_iter().zip(vals).collect()
}

/// Replaces each `excluded.col` with `with(col)`.
fn replace_excluded(sql: &str, with: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("excluded.") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "excluded.".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        out.push_str(&with(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `t.col` → `col` (MySQL's upsert and update read the stored row by bare name).
fn unqualify(sql: &str, table: &str) -> String {
    sql.replace(&format!("{table}."), "")
}

/// Splits at the first `sep` outside parentheses.
fn split_top<'a>(sql: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    let mut depth = 0i32;
    for (i, c) in sql.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 && sql[i..].starts_with(sep) => {
                // `sep` may itself open a parenthesis: keep it on the right-hand side.
                return Some((&sql[..i], &sql[i + sep.len()..]));
            }
            _ => {}
        }
    }
    None
}

/// Splits a list at commas outside parentheses.
fn split_commas(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(list[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(sql: &str, args: &[usize]) -> Stmt {
        Stmt {
            sql: sql.to_owned(),
            args: args.to_vec(),
        }
    }

    #[test]
    fn placeholders_keep_their_values_even_repeated_or_out_of_order() {
        assert_eq!(
            translate("UPDATE t SET a = $2, b = $2 WHERE id = $1 AND c <> $10"),
            Plan::One(stmt(
                "UPDATE t SET a = ?, b = ? WHERE id = ? AND c <> ?",
                &[1, 1, 0, 9]
            ))
        );
    }

    #[test]
    fn an_upsert_becomes_on_duplicate_key_update() {
        assert_eq!(
            translate(
                "INSERT INTO t (k, v, n) VALUES ($1, $2, 1) ON CONFLICT (k) DO UPDATE SET \
                 v = COALESCE(excluded.v, t.v), n = t.n + 1"
            ),
            Plan::One(stmt(
                "INSERT INTO t (k, v, n) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE \
                 v = COALESCE(VALUES(v), v), n = n + 1",
                &[0, 1]
            ))
        );
    }

    #[test]
    fn a_conditional_upsert_updates_when_the_condition_holds_else_inserts() {
        // The claim of src/store/claims.rs: taken only from an older claim.
        let plan = translate(
            "INSERT INTO code_claims (hash, owner, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hash) DO UPDATE SET owner = excluded.owner, \
             claimed_at = excluded.claimed_at WHERE code_claims.claimed_at < $4",
        );
        assert_eq!(
            plan,
            Plan::UpsertIf {
                update: stmt(
                    "UPDATE code_claims SET owner = ?, claimed_at = ? \
                     WHERE hash = ? AND (claimed_at < ?)",
                    &[1, 2, 0, 3]
                ),
                insert: stmt(
                    "INSERT INTO code_claims (hash, owner, claimed_at) VALUES (?, ?, ?)",
                    &[0, 1, 2]
                ),
            }
        );
    }

    #[test]
    fn returning_becomes_the_last_insert_id_and_a_reread() {
        assert_eq!(
            translate("INSERT INTO p (s, at) VALUES ($1, $2) RETURNING id"),
            Plan::Returning {
                insert: stmt("INSERT INTO p (s, at) VALUES (?, ?)", &[0, 1]),
                select: None
            }
        );
        assert_eq!(
            translate(
                "INSERT INTO u (a, o) VALUES ($1, $2) ON CONFLICT (a, o) DO UPDATE SET \
                 o = excluded.o RETURNING id, phone"
            ),
            Plan::Returning {
                insert: stmt(
                    "INSERT INTO u (a, o) VALUES (?, ?) ON DUPLICATE KEY UPDATE o = VALUES(o), \
                     id = LAST_INSERT_ID(id)",
                    &[0, 1]
                ),
                select: Some("SELECT id, phone FROM u WHERE id = ?".to_owned()),
            }
        );
    }
}
