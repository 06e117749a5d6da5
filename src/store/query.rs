//! `Db::query`: a statement in the portable form, its values bound in `$N` order, run as
//! written on SQLite and PostgreSQL and as its translation (`src/store/dialect.rs`) on
//! MySQL/MariaDB. Runs on the pool or on a connection (a transaction's `&mut *tx`).

use std::borrow::Cow;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, AnyPool, Arguments, FromRow};

use super::dialect::{Plan, Stmt};
use super::{Backend, Db};

/// A bound value. The store binds text and integers only (booleans are 0/1 integers),
/// so a translated statement can take them in another order, or twice.
#[derive(Debug, Clone)]
pub enum Value<'q> {
    Text(Option<Cow<'q, str>>),
    Int(Option<i64>),
}

impl<'q> From<&'q str> for Value<'q> {
    fn from(v: &'q str) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<&'q String> for Value<'q> {
    fn from(v: &'q String) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Some(Cow::Owned(v)))
    }
}
impl<'q> From<Option<&'q str>> for Value<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Value::Text(v.map(Cow::Borrowed))
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

/// Where a statement runs.
pub enum On<'c> {
    Pool(&'c AnyPool),
    Conn(&'c mut AnyConnection),
}

impl<'c> From<&'c AnyPool> for On<'c> {
    fn from(p: &'c AnyPool) -> Self {
        On::Pool(p)
    }
}
impl<'c> From<&'c mut AnyConnection> for On<'c> {
    fn from(c: &'c mut AnyConnection) -> Self {
        On::Conn(c)
    }
}

impl On<'_> {
    async fn execute(&mut self, sql: &str, args: AnyArguments<'_>) -> sqlx::Result<AnyQueryResult> {
        let q = sqlx::query_with(sql, args);
        match self {
            On::Pool(p) => q.execute(*p).await,
            On::Conn(c) => q.execute(&mut **c).await,
        }
    }

    async fn fetch_all(&mut self, sql: &str, args: AnyArguments<'_>) -> sqlx::Result<Vec<AnyRow>> {
        let q = sqlx::query_with(sql, args);
        match self {
            On::Pool(p) => q.fetch_all(*p).await,
            On::Conn(c) => q.fetch_all(&mut **c).await,
        }
    }

    async fn fetch_optional(
        &mut self,
        sql: &str,
        args: AnyArguments<'_>,
    ) -> sqlx::Result<Option<AnyRow>> {
        let q = sqlx::query_with(sql, args);
        match self {
            On::Pool(p) => q.fetch_optional(*p).await,
            On::Conn(c) => q.fetch_optional(&mut **c).await,
        }
    }
}

/// A portable statement and its values; see `Db::query`.
#[must_use = "a query does nothing until it is run"]
pub struct Query<'q> {
    backend: Backend,
    plan: Option<std::sync::Arc<Plan>>,
    sql: &'q str,
    values: Vec<Value<'q>>,
}

impl Db {
    /// A statement written the portable way (`src/store/mod.rs`); bind values in `$N`
    /// order. On MySQL the text is translated once and cached.
    pub fn query<'q>(&self, sql: &'q str) -> Query<'q> {
        let plan = (self.backend == Backend::Mysql).then(|| self.plans.get(sql));
        Query {
            backend: self.backend,
            plan,
            sql,
            values: Vec::new(),
        }
    }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.values.push(value.into());
        self
    }

    /// The values for `order` (value indexes), or all in order.
    fn args(&self, order: Option<&[usize]>) -> sqlx::Result<AnyArguments<'q>> {
        let mut args = AnyArguments::default();
        let all: Vec<usize>;
        let order = match order {
            Some(order) => order,
            None => {
                all = (0..self.values.len()).collect();
                &all
            }
        };
        for &i in order {
            let value = self.values.get(i).ok_or_else(|| {
                sqlx::Error::Protocol(format!("value ${} is not bound: {}", i + 1, self.sql))
            })?;
            let added = match value.clone() {
                Value::Text(Some(Cow::Borrowed(s))) => args.add(s),
                Value::Text(Some(Cow::Owned(s))) => args.add(s),
                Value::Text(None) => args.add(None::<String>),
                Value::Int(n) => args.add(n),
            };
            added.map_err(sqlx::Error::Encode)?;
        }
        Ok(args)
    }

    fn stmt_args(&self, stmt: &Stmt) -> sqlx::Result<AnyArguments<'q>> {
        self.args(Some(&stmt.args))
    }

    /// Runs the statement. A conditional upsert affects 1 row exactly when it wrote one.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> sqlx::Result<AnyQueryResult> {
        let mut on = on.into();
        let Some(plan) = self.plan.clone() else {
            return on.execute(self.sql, self.args(None)?).await;
        };
        match &*plan {
            Plan::One(stmt) | Plan::Returning { insert: stmt, .. } => {
                on.execute(&stmt.sql, self.stmt_args(stmt)?).await
            }
            Plan::UpsertIf { update, insert } => {
                let done = on.execute(&update.sql, self.stmt_args(update)?).await?;
                if done.rows_affected() > 0 {
                    return Ok(done);
                }
                match on.execute(&insert.sql, self.stmt_args(insert)?).await {
                    Err(e) if super::is_unique_violation(&e) => {
                        on.execute(&update.sql, self.stmt_args(update)?).await
                    }
                    other => other,
                }
            }
        }
    }

    /// `INSERT ... RETURNING id`: the new (or kept) row's id.
    pub async fn insert_id<'c>(self, on: impl Into<On<'c>>) -> sqlx::Result<i64> {
        if self.backend == Backend::Mysql {
            let done = self.execute(on).await?;
            return done
                .last_insert_id()
                .ok_or_else(|| sqlx::Error::Protocol("no last insert id".into()));
        }
        let (id,): (i64,) = self.fetch_one(on).await?;
        Ok(id)
    }

    pub async fn fetch_all<'c, T>(self, on: impl Into<On<'c>>) -> sqlx::Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        let mut on = on.into();
        let rows = match self.plan.as_deref() {
            None => on.fetch_all(self.sql, self.args(None)?).await?,
            Some(Plan::One(stmt)) => on.fetch_all(&stmt.sql, self.stmt_args(stmt)?).await?,
            Some(_) => return Err(returns_no_rows(self.sql)),
        };
        rows.iter().map(T::from_row).collect()
    }

    pub async fn fetch_optional<'c, T>(self, on: impl Into<On<'c>>) -> sqlx::Result<Option<T>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        let mut on = on.into();
        let row = match self.plan.as_deref() {
            None => on.fetch_optional(self.sql, self.args(None)?).await?,
            Some(Plan::One(stmt)) => on.fetch_optional(&stmt.sql, self.stmt_args(stmt)?).await?,
            Some(Plan::Returning {
                insert,
                select: Some(select),
            }) => {
                let done = on.execute(&insert.sql, self.stmt_args(insert)?).await?;
                let mut args = AnyArguments::default();
                args.add(done.last_insert_id())
                    .map_err(sqlx::Error::Encode)?;
                on.fetch_optional(select, args).await?
            }
            Some(_) => return Err(returns_no_rows(self.sql)),
        };
        row.as_ref().map(T::from_row).transpose()
    }

    pub async fn fetch_one<'c, T>(self, on: impl Into<On<'c>>) -> sqlx::Result<T>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

fn returns_no_rows(sql: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("on MySQL this statement returns no rows: {sql}"))
}
