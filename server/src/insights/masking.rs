//! Masking in SQL: reading which columns a database's tables have, checking
//! rules against them, suggesting rules for columns that look personal,
//! previewing masked rows, and masking a fork's tables in place.
//!
//! What each method becomes is one pure function ([`expression`]), so the
//! check on save, the preview and the fork run the same SQL. A table is
//! masked in one transaction as the superuser, in chunks of its original
//! blocks so its progress can be told; rows a chunk rewrote are told apart
//! by their `xmin` (this transaction's), so no row is masked twice even
//! when its new version lands in a later chunk. Triggers (foreign-key
//! checks included) are off meanwhile (`session_replication_role =
//! replica`): a hashed key and the column that references it change in
//! separate tables, to the same values.

use std::collections::BTreeMap;

use app::masking::{ColumnRef, MaskMethod, MaskRule, Suggestion, TablePreview, PREVIEW_ROWS};
use sqlx::postgres::PgConnection;
use sqlx::Connection;

use crate::provisioner::probe::sql_err;
use crate::provisioner::ProvisionError;

/// Blocks (8 KiB each) masked between two progress reports.
const CHUNK_BLOCKS: i64 = 2048;
/// The longest a check or preview may run on the source.
const SOURCE_TIMEOUT: &str = "10s";
/// Values sampled per text column to see whether they look personal.
const SAMPLE: i64 = 50;

/// Why masking rules could not be checked, previewed or applied.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    /// A rule does not fit the database's schema; the message names it.
    #[error("{0}")]
    Rule(String),
    /// Masking a fork's table failed.
    #[error("masking {table} failed: {message}")]
    Table { table: String, message: String },
    #[error(transparent)]
    Provision(#[from] ProvisionError),
}

/// What kind of values a column holds, as far as masking cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int2,
    Int4,
    Int8,
    Uuid,
    Date,
    Timestamp,
    Inet,
    Other,
}

/// A column of a user table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// `schema.table`, as rules name it.
    pub table: String,
    pub schema: String,
    pub relation: String,
    pub name: String,
    /// `format_type`'s words (`character varying(80)`).
    pub data_type: String,
    pub kind: Kind,
    pub not_null: bool,
    /// Generated, or an identity column `GENERATED ALWAYS`: not updatable.
    pub generated: bool,
    /// Of a partitioned table (masked through its parent, in one go).
    pub partitioned: bool,
}

/// schema, relation, column, type, base type, type category, NOT NULL,
/// generated, of a partitioned table.
type ColumnRow = (String, String, String, String, String, String, bool, bool, bool);

/// The columns of every user table (partitions are reached through their
/// parent), in table and column order.
pub async fn columns(conn: &mut PgConnection) -> Result<Vec<Column>, ProvisionError> {
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
         COALESCE(bt.typname, t.typname)::text, COALESCE(bt.typcategory, t.typcategory)::text, a.attnotnull, \
         (a.attgenerated::text <> '' OR a.attidentity::text = 'a'), c.relkind = 'p' \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
         AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
         AND d.deptype = 'e') \
         ORDER BY n.nspname, c.relname, a.attnum",
    )
    .fetch_all(conn)
    .await
    .map_err(sql_err)?;
    Ok(rows
        .into_iter()
        .map(|(schema, relation, name, data_type, base, category, not_null, generated, partitioned)| Column {
            table: format!("{schema}.{relation}"),
            kind: kind(&base, &category),
            schema,
            relation,
            name,
            data_type,
            not_null,
            generated,
            partitioned,
        })
        .collect())
}

fn kind(base: &str, category: &str) -> Kind {
    match base {
        "int2" => Kind::Int2,
        "int4" => Kind::Int4,
        "int8" => Kind::Int8,
        "uuid" => Kind::Uuid,
        "date" => Kind::Date,
        "timestamp" | "timestamptz" => Kind::Timestamp,
        "inet" | "cidr" => Kind::Inet,
        _ if category == "S" => Kind::Text,
        _ => Kind::Other,
    }
}

/// `"name"`, quoted for SQL.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, quoted for SQL (standard strings, as PostgreSQL has them on).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Alan", "Grace", "Linus", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Dennis", "Margaret",
    "John", "Hedy", "Tim", "Sophie",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman",
    "Ritchie", "Hamilton", "Backus", "Lamarr", "Berners", "Wilson",
];

/// What `method` sets `column` to, as SQL over the row (`None` for
/// `keep`). `salt` keys the hashes: the same value and salt give the same
/// result in every table.
pub fn expression(method: &MaskMethod, column: &Column, salt: &str) -> Result<Option<String>, String> {
    let at = format!("{}.{}", column.table, column.name);
    let c = ident(&column.name);
    let ty = &column.data_type;
    let md5 = format!("md5({c}::text || {})", literal(salt));
    // A non-negative int of 28 bits from the hash.
    let small = format!("('x' || substr({md5}, 1, 7))::bit(28)::int");
    let text_only = |what: &str| -> Result<(), String> {
        match column.kind {
            Kind::Text => Ok(()),
            _ => Err(format!("{at} is {ty}; {what} masks text columns")),
        }
    };
    let expr = match method {
        MaskMethod::Keep => return Ok(None),
        MaskMethod::Null if column.not_null => {
            return Err(format!("{at} is NOT NULL, so it cannot be set to null; use fixed, hash or a fake value"))
        }
        MaskMethod::Null => "NULL".to_string(),
        MaskMethod::Fixed { value } => format!("CAST({} AS {ty})", literal(value)),
        MaskMethod::FakeEmail => {
            text_only("fake_email")?;
            format!("CAST('user_' || substr({md5}, 1, 12) || '@example.com' AS {ty})")
        }
        MaskMethod::FakeName => {
            text_only("fake_name")?;
            let list = |names: &[&str]| names.iter().map(|n| literal(n)).collect::<Vec<_>>().join(", ");
            format!(
                "CAST((ARRAY[{}])[1 + {small} % {}] || ' ' || (ARRAY[{}])[1 + ({small} / {}) % {}] AS {ty})",
                list(&FIRST_NAMES),
                FIRST_NAMES.len(),
                list(&LAST_NAMES),
                FIRST_NAMES.len(),
                LAST_NAMES.len()
            )
        }
        MaskMethod::FakePhone => {
            text_only("fake_phone")?;
            format!("CAST('+1-555-' || lpad(({small} % 10000000)::text, 7, '0') AS {ty})")
        }
        MaskMethod::Hash => match column.kind {
            Kind::Text => format!("CAST({md5} AS {ty})"),
            Kind::Int2 => format!("CAST(('x' || substr({md5}, 1, 3))::bit(12)::int AS {ty})"),
            Kind::Int4 => format!("CAST({small} AS {ty})"),
            Kind::Int8 => format!("CAST(('x' || substr({md5}, 1, 15))::bit(60)::bigint AS {ty})"),
            Kind::Uuid => format!("CAST({md5}::uuid AS {ty})"),
            Kind::Date | Kind::Timestamp | Kind::Inet | Kind::Other => {
                return Err(format!("{at} is {ty}; hash masks text, integer and uuid columns"))
            }
        },
        MaskMethod::Partial { first, last } => {
            text_only("partial")?;
            let v = format!("{c}::text");
            format!(
                "CAST(CASE WHEN length({v}) <= {keep} THEN repeat('*', length({v})) \
                 ELSE left({v}, {first}) || repeat('*', length({v}) - {keep}) || right({v}, {last}) END AS {ty})",
                keep = first + last
            )
        }
        MaskMethod::ShiftDate { days } => match column.kind {
            Kind::Date | Kind::Timestamp => {
                format!("CAST({c} + ({small} % {span} - {days}) * interval '1 day' AS {ty})", span = 2 * days + 1)
            }
            _ => return Err(format!("{at} is {ty}; shift_date moves date and timestamp columns")),
        },
        MaskMethod::Sql { sql } => format!("CAST(({sql}) AS {ty})"),
    };
    Ok(Some(expr))
}

/// One table's part of the masking: what its `UPDATE` sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePlan {
    /// `schema.table`.
    pub table: String,
    /// `"schema"."table"`.
    pub target: String,
    /// (column, expression), in rule order.
    pub sets: Vec<(String, String)>,
    pub partitioned: bool,
}

impl TablePlan {
    /// The `SET` list of its `UPDATE`: `"column" = expression, …`.
    fn assignments(&self) -> String {
        self.sets.iter().map(|(c, e)| format!("{} = {e}", ident(c))).collect::<Vec<_>>().join(", ")
    }
}

/// The columns by table and name.
fn index(columns: &[Column]) -> BTreeMap<(&str, &str), &Column> {
    columns.iter().map(|c| ((c.table.as_str(), c.name.as_str()), c)).collect()
}

/// Checks `rules` against `columns` and says what each table's update sets
/// (tables whose rules all keep are left alone). Pure: the save, the
/// preview and the fork all go through it.
pub fn plan(rules: &[MaskRule], columns: &[Column], salt: &str) -> Result<Vec<TablePlan>, String> {
    let by_name = index(columns);
    let mut plans: Vec<TablePlan> = Vec::new();
    for rule in rules {
        let Some(column) = by_name.get(&(rule.table.as_str(), rule.column.as_str())) else {
            if !columns.iter().any(|c| c.table == rule.table) {
                return Err(format!("there is no table {}", rule.table));
            }
            let names: Vec<&str> = columns.iter().filter(|c| c.table == rule.table).map(|c| c.name.as_str()).collect();
            return Err(format!("{} has no column {} (it has {})", rule.table, rule.column, names.join(", ")));
        };
        if column.generated && rule.method != MaskMethod::Keep {
            return Err(format!(
                "{}.{} is generated by PostgreSQL; mask what it is made from",
                rule.table, rule.column
            ));
        }
        let Some(expr) = expression(&rule.method, column, salt)? else { continue };
        let set = (column.name.clone(), expr);
        match plans.iter_mut().find(|p| p.table == rule.table) {
            Some(p) => p.sets.push(set),
            None => plans.push(TablePlan {
                table: rule.table.clone(),
                target: format!("{}.{}", ident(&column.schema), ident(&column.relation)),
                sets: vec![set],
                partitioned: column.partitioned,
            }),
        }
    }
    Ok(plans)
}

/// The columns no rule names.
pub fn uncovered(rules: &[MaskRule], columns: &[Column]) -> Vec<ColumnRef> {
    columns
        .iter()
        .filter(|c| !rules.iter().any(|r| r.table == c.table && r.column == c.name))
        .map(|c| ColumnRef { table: c.table.clone(), column: c.name.clone(), data_type: c.data_type.clone() })
        .collect()
}

/// Runs `sql` on the source in a read-only transaction with a time limit;
/// the transaction is rolled back, so nothing is ever written.
async fn read_only<T, F>(conn: &mut PgConnection, f: F) -> Result<T, sqlx::Error>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> futures::future::BoxFuture<'c, Result<T, sqlx::Error>>,
{
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = '{SOURCE_TIMEOUT}'")).execute(&mut *tx).await?;
    let out = f(&mut tx).await;
    tx.rollback().await?;
    out
}

fn db_message(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Checks the rules on the source itself: each table's expressions are
/// planned by PostgreSQL (`LIMIT 0`: no row is read), which catches an
/// `sql` expression that does not parse or type-check and a `fixed` value
/// the column's type does not take.
pub async fn check(conn: &mut PgConnection, rules: &[MaskRule], salt: &str) -> Result<(), MaskError> {
    let columns = columns(conn).await?;
    let plans = plan(rules, &columns, salt).map_err(MaskError::Rule)?;
    for p in &plans {
        for (column, expr) in &p.sets {
            let sql = format!("SELECT {expr} FROM {} LIMIT 0", p.target);
            read_only(conn, |c| Box::pin(async move { sqlx::query(&sql).execute(c).await.map(|_| ()) }))
                .await
                .map_err(|e| MaskError::Rule(format!("{}.{column}: {}", p.table, db_message(e))))?;
        }
    }
    Ok(())
}

/// Up to [`PREVIEW_ROWS`] rows of each masked table as the rules would
/// leave them, computed on the source without writing anything.
pub async fn preview(conn: &mut PgConnection, rules: &[MaskRule], salt: &str) -> Result<Vec<TablePreview>, MaskError> {
    let columns = columns(conn).await?;
    let by_name = index(&columns);
    let mut tables: Vec<TablePreview> = Vec::new();
    let mut selects: Vec<(String, String, Vec<String>)> = Vec::new();
    for rule in rules {
        let column = by_name
            .get(&(rule.table.as_str(), rule.column.as_str()))
            .ok_or_else(|| MaskError::Rule(format!("there is no column {}.{}", rule.table, rule.column)))?;
        let expr =
            expression(&rule.method, column, salt).map_err(MaskError::Rule)?.unwrap_or_else(|| ident(&column.name));
        let target = format!("{}.{}", ident(&column.schema), ident(&column.relation));
        match selects.iter_mut().find(|(t, _, _)| t == &rule.table) {
            Some((_, _, exprs)) => exprs.push(expr),
            None => selects.push((rule.table.clone(), target, vec![expr])),
        }
        match tables.iter_mut().find(|t| t.table == rule.table) {
            Some(t) => t.columns.push(rule.column.clone()),
            None => tables.push(TablePreview {
                table: rule.table.clone(),
                columns: vec![rule.column.clone()],
                rows: Vec::new(),
            }),
        }
    }
    for ((table, target, exprs), preview) in selects.into_iter().zip(tables.iter_mut()) {
        let list = exprs.iter().map(|e| format!("({e})::text")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT ARRAY[{list}] FROM {target} LIMIT {PREVIEW_ROWS}");
        let rows: Vec<Vec<Option<String>>> =
            read_only(conn, |c| Box::pin(async move { sqlx::query_scalar(&sql).fetch_all(c).await }))
                .await
                .map_err(|e| MaskError::Rule(format!("{table}: {}", db_message(e))))?;
        preview.rows = rows;
    }
    Ok(tables)
}

/// Masks one table of a fork in one transaction, calling `report` with the
/// rows done after each chunk; answers the rows masked.
pub async fn apply(conn: &mut PgConnection, plan: &TablePlan, mut report: impl FnMut(u64)) -> Result<u64, MaskError> {
    let failed = |e: sqlx::Error| MaskError::Table { table: plan.table.clone(), message: db_message(e) };
    let mut tx = conn.begin().await.map_err(failed)?;
    // No trigger fires (foreign-key checks included): see the module docs.
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.map_err(failed)?;
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await.map_err(failed)?;
    let sets = plan.assignments();
    let mut done = 0u64;
    if plan.partitioned {
        let r = sqlx::query(&format!("UPDATE {} SET {sets}", plan.target)).execute(&mut *tx).await.map_err(failed)?;
        done = r.rows_affected();
        report(done);
    } else {
        let blocks: i64 = sqlx::query_scalar(&format!(
            "SELECT pg_relation_size('{}') / current_setting('block_size')::bigint",
            plan.target.replace('\'', "''")
        ))
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        let mut start = 0;
        while start < blocks {
            let end = start + CHUNK_BLOCKS;
            let sql = format!(
                "UPDATE ONLY {} SET {sets} WHERE ctid >= '({start},0)'::tid AND ctid < '({end},0)'::tid \
                 AND xmin <> pg_current_xact_id()::xid",
                plan.target
            );
            let r = sqlx::query(&sql).execute(&mut *tx).await.map_err(failed)?;
            done += r.rows_affected();
            report(done);
            start = end;
        }
    }
    tx.commit().await.map_err(failed)?;
    Ok(done)
}

/// Rows in a table now (the total a masking reports against).
pub async fn count_rows(conn: &mut PgConnection, plan: &TablePlan) -> Result<u64, MaskError> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", plan.target))
        .fetch_one(conn)
        .await
        .map_err(|e| MaskError::Table { table: plan.table.clone(), message: db_message(e) })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Rewrites the masked tables (and the planner's statistics, which keep
/// sample values) so no original value stays in a dead tuple, an index
/// entry or a statistics row: `VACUUM FULL` writes each into new files and
/// drops the old ones.
pub async fn rewrite(conn: &mut PgConnection, plans: &[TablePlan]) -> Result<(), MaskError> {
    for p in plans {
        sqlx::query(&format!("VACUUM (FULL, ANALYZE) {}", p.target))
            .execute(&mut *conn)
            .await
            .map_err(|e| MaskError::Table { table: p.table.clone(), message: db_message(e) })?;
    }
    for catalog in ["pg_catalog.pg_statistic", "pg_catalog.pg_statistic_ext_data"] {
        sqlx::query(&format!("VACUUM FULL {catalog}"))
            .execute(&mut *conn)
            .await
            .map_err(|e| MaskError::Table { table: catalog.to_string(), message: db_message(e) })?;
    }
    Ok(())
}

/// Uncovered columns that look personal, by their name or (for text) by
/// a sample of their values, with the rule pgfleet would write.
pub async fn suggestions(conn: &mut PgConnection, rules: &[MaskRule]) -> Result<Vec<Suggestion>, ProvisionError> {
    let columns = columns(conn).await?;
    let mut out = Vec::new();
    for column in columns.iter().filter(|c| !c.generated) {
        if rules.iter().any(|r| r.table == column.table && r.column == column.name) {
            continue;
        }
        let mut found = by_name(column);
        if found.is_none() && column.kind == Kind::Text {
            let sql = format!(
                "SELECT {c}::text FROM {}.{} WHERE {c} IS NOT NULL LIMIT {SAMPLE}",
                ident(&column.schema),
                ident(&column.relation),
                c = ident(&column.name)
            );
            let sample: Vec<String> =
                read_only(conn, |c| Box::pin(async move { sqlx::query_scalar(&sql).fetch_all(c).await }))
                    .await
                    .map_err(sql_err)?;
            found = by_contents(column, &sample);
        }
        if let Some((why, method)) = found {
            out.push(Suggestion { table: column.table.clone(), column: column.name.clone(), why, method });
        }
    }
    Ok(out)
}

/// What a column's name (or type) says it holds.
fn by_name(column: &Column) -> Option<(String, MaskMethod)> {
    let name = column.name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    let what = if has(&["email", "e_mail"]) || name == "mail" {
        "email"
    } else if has(&["phone", "mobile", "fax"]) || name == "tel" {
        "phone"
    } else if [
        "name",
        "first_name",
        "firstname",
        "last_name",
        "lastname",
        "full_name",
        "fullname",
        "surname",
        "given_name",
        "family_name",
        "middle_name",
        "display_name",
        "contact_name",
    ]
    .contains(&name.as_str())
    {
        "name"
    } else if has(&["address", "street", "city", "zip", "postal", "postcode"]) {
        "address"
    } else if has(&["birth", "dob"]) || name == "born" || name == "born_on" {
        "birth date"
    } else if column.kind == Kind::Inet || name == "ip" || has(&["ip_addr", "ipaddr"]) {
        "IP address"
    } else if has(&["card", "cc_num", "iban", "ssn", "passport", "national_id", "tax_id"]) {
        "card or identity number"
    } else {
        return None;
    };
    method_for(column, what).map(|m| (format!("its name says {what}"), m))
}

/// What most of a sample of a text column's values look like.
fn by_contents(column: &Column, sample: &[String]) -> Option<(String, MaskMethod)> {
    if sample.is_empty() {
        return None;
    }
    let most = |f: fn(&str) -> bool| sample.iter().filter(|v| f(v)).count() * 2 > sample.len();
    let what = if most(looks_like_email) {
        "email"
    } else if most(looks_like_card) {
        "card or identity number"
    } else if most(|v| v.trim().parse::<std::net::IpAddr>().is_ok()) {
        "IP address"
    } else if most(looks_like_phone) {
        "phone"
    } else {
        return None;
    };
    method_for(column, what).map(|m| (format!("most values look like a {what}"), m))
}

/// The rule pgfleet suggests for a kind of personal data in `column`.
fn method_for(column: &Column, what: &str) -> Option<MaskMethod> {
    let fallback = || match column.kind {
        _ if !column.not_null => Some(MaskMethod::Null),
        Kind::Text | Kind::Int2 | Kind::Int4 | Kind::Int8 | Kind::Uuid => Some(MaskMethod::Hash),
        _ => None,
    };
    match (what, column.kind) {
        ("email", Kind::Text) => Some(MaskMethod::FakeEmail),
        ("phone", Kind::Text) => Some(MaskMethod::FakePhone),
        ("name", Kind::Text) => Some(MaskMethod::FakeName),
        ("birth date", Kind::Date | Kind::Timestamp) => Some(MaskMethod::ShiftDate { days: 30 }),
        ("card or identity number", Kind::Text) => Some(MaskMethod::Partial { first: 0, last: 4 }),
        _ => fallback(),
    }
}

fn looks_like_email(v: &str) -> bool {
    let v = v.trim();
    match v.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !v.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// 13 to 19 digits (spaces and dashes allowed) that pass Luhn's check.
fn looks_like_card(v: &str) -> bool {
    if !v.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
        return false;
    }
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// 7 to 15 digits with a leading `+` or separators (a bare number is more
/// likely an id).
fn looks_like_phone(v: &str) -> bool {
    let v = v.trim();
    if !v.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits) && (v.starts_with('+') || v.contains(['-', ' ', '(', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(table: &str, name: &str, kind: Kind, data_type: &str) -> Column {
        let (schema, relation) = table.split_once('.').unwrap();
        Column {
            table: table.into(),
            schema: schema.into(),
            relation: relation.into(),
            name: name.into(),
            data_type: data_type.into(),
            kind,
            not_null: false,
            generated: false,
            partitioned: false,
        }
    }

    fn rule(table: &str, column: &str, method: MaskMethod) -> MaskRule {
        MaskRule { table: table.into(), column: column.into(), method }
    }

    fn users() -> Vec<Column> {
        vec![
            column("public.users", "id", Kind::Int8, "bigint"),
            Column { not_null: true, ..column("public.users", "email", Kind::Text, "text") },
            column("public.users", "born", Kind::Date, "date"),
            Column { generated: true, ..column("public.users", "slug", Kind::Text, "text") },
        ]
    }

    #[test]
    fn a_plan_sets_each_masked_column_once_per_table_and_leaves_kept_ones() {
        let rules = vec![
            rule("public.users", "email", MaskMethod::FakeEmail),
            rule("public.users", "id", MaskMethod::Keep),
            rule("public.users", "born", MaskMethod::ShiftDate { days: 10 }),
        ];
        let plans = plan(&rules, &users(), "s4lt").unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].target, "\"public\".\"users\"");
        assert_eq!(plans[0].sets.len(), 2);
        assert_eq!(plans[0].sets[0].0, "email");
        assert!(plans[0].sets[0].1.starts_with("CAST('user_' || substr(md5(\"email\"::text || 's4lt')"));
        assert!(plans[0].sets[1].1.contains("% 21 - 10) * interval '1 day' AS date)"));
        assert!(plans[0].assignments().starts_with("\"email\" = CAST('user_'"));
        let kept = plan(&[rule("public.users", "id", MaskMethod::Keep)], &users(), "s").unwrap();
        assert!(kept.is_empty(), "a table whose rules all keep is not updated");
    }

    #[test]
    fn rules_that_do_not_fit_the_schema_say_why() {
        let err = |r: MaskRule| plan(&[r], &users(), "s").unwrap_err();
        assert_eq!(err(rule("public.userz", "email", MaskMethod::Null)), "there is no table public.userz");
        assert!(err(rule("public.users", "emial", MaskMethod::Null)).contains("has no column emial (it has id, email"));
        assert!(err(rule("public.users", "email", MaskMethod::Null)).contains("NOT NULL"));
        assert!(err(rule("public.users", "born", MaskMethod::FakeEmail)).contains("masks text columns"));
        assert!(err(rule("public.users", "born", MaskMethod::Hash)).contains("text, integer and uuid"));
        assert!(err(rule("public.users", "id", MaskMethod::ShiftDate { days: 1 })).contains("date and timestamp"));
        assert!(err(rule("public.users", "slug", MaskMethod::Hash)).contains("generated"));
    }

    #[test]
    fn literals_and_names_are_quoted() {
        let odd = column("public.users", "we\"ird", Kind::Text, "text");
        let set = expression(&MaskMethod::Fixed { value: "it's".into() }, &odd, "s").unwrap().unwrap();
        assert_eq!(set, "CAST('it''s' AS text)");
        let hashed = expression(&MaskMethod::Hash, &odd, "s").unwrap().unwrap();
        assert!(hashed.contains("md5(\"we\"\"ird\"::text || 's')"));
    }

    #[test]
    fn personal_looking_columns_are_suggested() {
        let email = column("public.users", "contact", Kind::Text, "text");
        let sample = vec!["a@b.io".to_string(), "c@d.org".into(), "x".into()];
        assert_eq!(by_contents(&email, &sample).unwrap().1, MaskMethod::FakeEmail);
        let card = vec!["4111 1111 1111 1111".to_string(), "5500-0000-0000-0004".into()];
        assert_eq!(by_contents(&email, &card).unwrap().1, MaskMethod::Partial { first: 0, last: 4 });
        assert!(by_contents(&email, &["12345".to_string(), "hello".into()]).is_none());
        assert_eq!(
            by_name(&column("public.users", "phone_number", Kind::Text, "text")).unwrap().1,
            MaskMethod::FakePhone
        );
        assert_eq!(
            by_name(&column("public.users", "birth_date", Kind::Date, "date")).unwrap().1,
            MaskMethod::ShiftDate { days: 30 }
        );
        assert!(by_name(&column("public.users", "product_name", Kind::Text, "text")).is_none());
        assert!(looks_like_phone("+44 20 7946 0958"));
        assert!(!looks_like_phone("20794609"));
    }
}
