//! Masking rules: what a fork of a database must not carry of its data.
//! An admin (or the owner of an unprotected database) says, per table and
//! column, how its values are replaced in every fork; pgfleet applies the
//! rules in the fork before anyone gets its credentials.
//!
//! This module owns the wire types and the checks that need no database
//! (counts, ranges, names); the server checks the rules against the
//! source's catalogs when they are saved and builds the SQL that applies
//! them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most rules one database has.
pub const MAX_RULES: usize = 500;
/// The longest `sql` expression or `fixed` value.
pub const MAX_TEXT: usize = 1000;
/// The most characters `partial` keeps at either end.
pub const MAX_PARTIAL: u32 = 100;
/// The furthest `shift_date` moves a date, in days.
pub const MAX_SHIFT_DAYS: u32 = 3650;
/// Rows shown per table by a preview.
pub const PREVIEW_ROWS: usize = 5;

/// How one column's values are replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MaskMethod {
    /// Left as it is (a column looked at and judged harmless).
    Keep,
    /// Set to NULL (the column must allow it).
    Null,
    /// Set to one value, cast to the column's type.
    Fixed { value: String },
    /// `user_<hash>@example.com`: still unique where the originals were.
    FakeEmail,
    /// A made-up first and last name, the same for the same original.
    FakeName,
    /// `+1-555-` and seven digits, the same for the same original.
    FakePhone,
    /// A salted MD5 of the value (text, integer and uuid columns): the same
    /// value gives the same hash in every table, so joins still match.
    Hash,
    /// Keeps the first and last characters, stars in between (all stars
    /// when the value is no longer than what would be kept).
    Partial {
        #[serde(default)]
        first: u32,
        #[serde(default)]
        last: u32,
    },
    /// Moves a date or timestamp by up to `days` either way, the same
    /// shift for the same original.
    ShiftDate { days: u32 },
    /// An SQL expression of the admin's over the row's columns. It runs
    /// with pgfleet's privileges, so only admins save it.
    Sql { sql: String },
}

impl MaskMethod {
    /// The method's name as the API spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            MaskMethod::Keep => "keep",
            MaskMethod::Null => "null",
            MaskMethod::Fixed { .. } => "fixed",
            MaskMethod::FakeEmail => "fake_email",
            MaskMethod::FakeName => "fake_name",
            MaskMethod::FakePhone => "fake_phone",
            MaskMethod::Hash => "hash",
            MaskMethod::Partial { .. } => "partial",
            MaskMethod::ShiftDate { .. } => "shift_date",
            MaskMethod::Sql { .. } => "sql",
        }
    }

    /// In words, for the console and the CLI.
    pub fn describe(&self) -> String {
        match self {
            MaskMethod::Keep => "keep".into(),
            MaskMethod::Null => "null".into(),
            MaskMethod::Fixed { value } => format!("fixed {value:?}"),
            MaskMethod::FakeEmail => "fake email".into(),
            MaskMethod::FakeName => "fake name".into(),
            MaskMethod::FakePhone => "fake phone".into(),
            MaskMethod::Hash => "hash".into(),
            MaskMethod::Partial { first, last } => format!("partial (first {first}, last {last})"),
            MaskMethod::ShiftDate { days } => format!("shift date by up to {days} days"),
            MaskMethod::Sql { sql } => format!("sql: {sql}"),
        }
    }

    /// Whether it carries text of the admin's (which may hold literals
    /// from the data, so viewers do not see it).
    pub fn has_literal(&self) -> bool {
        matches!(self, MaskMethod::Fixed { .. } | MaskMethod::Sql { .. })
    }

    /// The same method with its text withheld.
    pub fn withheld(&self) -> MaskMethod {
        match self {
            MaskMethod::Fixed { .. } => MaskMethod::Fixed { value: String::new() },
            MaskMethod::Sql { .. } => MaskMethod::Sql { sql: String::new() },
            other => other.clone(),
        }
    }
}

/// One rule: a column and how it is masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MaskRule {
    /// `schema.table`, or `table` for one in `public`.
    pub table: String,
    pub column: String,
    #[serde(flatten)]
    pub method: MaskMethod,
}

/// `PUT /api/v1/databases/{name}/masking`: the whole set of rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MaskRules {
    pub rules: Vec<MaskRule>,
}

/// A column of the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ColumnRef {
    pub table: String,
    pub column: String,
    /// PostgreSQL's name for its type (`character varying(80)`).
    pub data_type: String,
}

/// A column that looks personal and has no rule yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Suggestion {
    pub table: String,
    pub column: String,
    /// e.g. "its name says email", "most values look like card numbers".
    pub why: String,
    /// The rule pgfleet would write for it.
    #[serde(flatten)]
    pub method: MaskMethod,
}

/// One saved version of a database's rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MaskingVersion {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub rules: usize,
}

/// `GET /api/v1/databases/{name}/masking`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MaskingView {
    pub database: String,
    /// 0 until rules are first saved.
    pub version: i64,
    pub rules: Vec<MaskRule>,
    /// Whether `fixed` values and `sql` expressions were left out (for
    /// viewers: they may carry values from the data).
    pub withheld: bool,
    /// Columns of its tables that no rule names (copied as they are).
    pub uncovered: Vec<ColumnRef>,
    /// Uncovered columns that look personal: "probably personal, not
    /// masked yet".
    pub suggestions: Vec<Suggestion>,
    /// Why `uncovered` and `suggestions` are empty when its schema could
    /// not be read (it is not running, say).
    pub schema_error: Option<String>,
    /// Its saved versions, newest first.
    pub versions: Vec<MaskingVersion>,
}

/// Masked sample rows of one table, computed without writing anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TablePreview {
    pub table: String,
    /// The columns with a rule, in rule order.
    pub columns: Vec<String>,
    /// Up to [`PREVIEW_ROWS`] rows, as text (`None`: NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

/// `GET /api/v1/databases/{name}/masking/preview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MaskPreview {
    pub tables: Vec<TablePreview>,
}

/// How a fork stands with its source's masking rules.
///
/// Written `{"state": "masked", "version": 3}` or `{"state": "unmasked",
/// "reason": "…"}`. It is read through [`ForkMaskingWire`]: serde reads an
/// internally tagged enum by buffering it whole first, and that buffering
/// code was 15 KB of the first page's WASM for this one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case", try_from = "ForkMaskingWire")]
pub enum ForkMasking {
    /// Masked with this version of its source's rules.
    Masked { version: i64 },
    /// Made without masking although its source has rules, as an admin
    /// allowed, and why.
    Unmasked { reason: String },
}

/// [`ForkMasking`] as read: the tag (a string, for the reason in
/// [`crate::named`]) and every variant's fields, each optional.
#[derive(Deserialize)]
struct ForkMaskingWire {
    state: String,
    version: Option<i64>,
    reason: Option<String>,
}

impl TryFrom<ForkMaskingWire> for ForkMasking {
    type Error = String;

    fn try_from(wire: ForkMaskingWire) -> Result<Self, Self::Error> {
        match (wire.state.as_str(), wire.version, wire.reason) {
            ("masked", Some(version), _) => Ok(ForkMasking::Masked { version }),
            ("masked", None, _) => Err("a masked fork's masking has no version".into()),
            ("unmasked", _, Some(reason)) => Ok(ForkMasking::Unmasked { reason }),
            ("unmasked", _, None) => Err("an unmasked fork's masking has no reason".into()),
            (other, _, _) => Err(format!("unknown variant `{other}`, expected `masked` or `unmasked`")),
        }
    }
}

/// `table` with its schema: `users` is `public.users`.
pub fn qualified(table: &str) -> String {
    let table = table.trim();
    if table.contains('.') {
        table.to_string()
    } else {
        format!("public.{table}")
    }
}

/// The checks that need no database: how many, numbers in range, texts
/// present and short enough, and no column named twice. Tables come back
/// qualified with their schema.
pub fn normalize(rules: MaskRules) -> Result<Vec<MaskRule>, String> {
    if rules.rules.len() > MAX_RULES {
        return Err(format!("at most {MAX_RULES} rules, not {}", rules.rules.len()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(rules.rules.len());
    for rule in rules.rules {
        let table = qualified(&rule.table);
        let column = rule.column.trim().to_string();
        let at = format!("{table}.{column}");
        if table.split('.').count() != 2 || table.split('.').any(str::is_empty) {
            return Err(format!("{:?} is not a table: write schema.table or table", rule.table));
        }
        if column.is_empty() {
            return Err(format!("a rule on {table} names no column"));
        }
        if !seen.insert((table.clone(), column.clone())) {
            return Err(format!("{at} has two rules; keep one"));
        }
        match &rule.method {
            MaskMethod::Fixed { value } if value.chars().count() > MAX_TEXT => {
                return Err(format!("{at}: a fixed value is at most {MAX_TEXT} characters"))
            }
            MaskMethod::Sql { sql } if sql.trim().is_empty() || sql.chars().count() > MAX_TEXT => {
                return Err(format!("{at}: an sql expression is 1 to {MAX_TEXT} characters"))
            }
            MaskMethod::Sql { sql } if sql.contains(';') => {
                return Err(format!("{at}: an sql expression is one expression, without `;`"))
            }
            MaskMethod::Partial { first, last } if *first > MAX_PARTIAL || *last > MAX_PARTIAL => {
                return Err(format!("{at}: partial keeps 0 to {MAX_PARTIAL} characters at either end"))
            }
            MaskMethod::ShiftDate { days } if *days == 0 || *days > MAX_SHIFT_DAYS => {
                return Err(format!("{at}: shift_date moves by 1 to {MAX_SHIFT_DAYS} days"))
            }
            _ => {}
        }
        let method = match rule.method {
            MaskMethod::Sql { sql } => MaskMethod::Sql { sql: sql.trim().to_string() },
            other => other,
        };
        out.push(MaskRule { table, column, method });
    }
    Ok(out)
}

/// What changed from `old` to `new`, in words for the audit log:
/// `added public.users.email (fake email); removed public.users.note`.
pub fn changes(old: &[MaskRule], new: &[MaskRule]) -> String {
    let find = |rules: &[MaskRule], r: &MaskRule| {
        rules.iter().find(|o| o.table == r.table && o.column == r.column).map(|o| o.method.clone())
    };
    let mut words = Vec::new();
    for r in new {
        match find(old, r) {
            None => words.push(format!("added {}.{} ({})", r.table, r.column, r.method.as_str())),
            Some(m) if m != r.method => {
                words.push(format!("changed {}.{} to {}", r.table, r.column, r.method.as_str()))
            }
            Some(_) => {}
        }
    }
    for r in old {
        if find(new, r).is_none() {
            words.push(format!("removed {}.{}", r.table, r.column));
        }
    }
    if words.is_empty() {
        "no change".into()
    } else {
        words.join("; ")
    }
}

/// Whether `new` adds or changes an `sql` rule against `old` (saving one
/// is an admin's call).
pub fn touches_sql(old: &[MaskRule], new: &[MaskRule]) -> bool {
    new.iter().any(|r| matches!(r.method, MaskMethod::Sql { .. }) && !old.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> MaskRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_forks_masking_reads_back_what_is_written_and_refuses_a_state_without_its_field() {
        for masking in [ForkMasking::Masked { version: 3 }, ForkMasking::Unmasked { reason: "an audit".into() }] {
            let json = serde_json::to_string(&masking).unwrap();
            assert_eq!(serde_json::from_str::<ForkMasking>(&json).unwrap(), masking);
        }
        assert_eq!(
            serde_json::to_string(&ForkMasking::Masked { version: 3 }).unwrap(),
            r#"{"state":"masked","version":3}"#
        );
        assert!(serde_json::from_str::<ForkMasking>(r#"{"state":"masked"}"#).is_err());
        assert!(serde_json::from_str::<ForkMasking>(r#"{"state":"unmasked","version":1}"#).is_err());
        assert!(serde_json::from_str::<ForkMasking>(r#"{"state":"other","version":1}"#).is_err());
    }

    #[test]
    fn methods_read_as_the_api_spells_them() {
        assert_eq!(rule(r#"{"table":"users","column":"email","method":"fake_email"}"#).method, MaskMethod::FakeEmail);
        assert_eq!(
            rule(r#"{"table":"users","column":"note","method":"sql","sql":"left(note, 3)"}"#).method,
            MaskMethod::Sql { sql: "left(note, 3)".into() }
        );
        assert_eq!(
            rule(r#"{"table":"users","column":"card","method":"partial","last":4}"#).method,
            MaskMethod::Partial { first: 0, last: 4 }
        );
        let back = serde_json::to_value(rule(r#"{"table":"t","column":"c","method":"shift_date","days":30}"#)).unwrap();
        assert_eq!(back, serde_json::json!({"table": "t", "column": "c", "method": "shift_date", "days": 30}));
        assert!(serde_json::from_str::<MaskRule>(r#"{"table":"t","column":"c","method":"scramble"}"#).is_err());
    }

    #[test]
    fn normalizing_qualifies_tables_and_refuses_what_is_out_of_range() {
        let ok = normalize(MaskRules { rules: vec![rule(r#"{"table":"users","column":"name","method":"hash"}"#)] });
        assert_eq!(ok.unwrap()[0].table, "public.users");
        let bad = |json: &str| normalize(MaskRules { rules: vec![rule(json)] }).unwrap_err();
        assert!(bad(r#"{"table":"t","column":"c","method":"shift_date","days":0}"#).contains("1 to 3650"));
        assert!(bad(r#"{"table":"t","column":"c","method":"partial","first":101}"#).contains("0 to 100"));
        assert!(bad(r#"{"table":"t","column":"c","method":"sql","sql":" "}"#).contains("1 to 1000"));
        assert!(bad(r#"{"table":"t","column":"c","method":"sql","sql":"1; drop table t"}"#).contains("without `;`"));
        assert!(bad(r#"{"table":"a.b.c","column":"c","method":"null"}"#).contains("not a table"));
        let twice = MaskRules {
            rules: vec![
                rule(r#"{"table":"users","column":"name","method":"hash"}"#),
                rule(r#"{"table":"public.users","column":"name","method":"null"}"#),
            ],
        };
        assert!(normalize(twice).unwrap_err().contains("two rules"));
    }

    #[test]
    fn changes_are_told_in_words_and_sql_edits_are_spotted() {
        let old = vec![
            rule(r#"{"table":"public.users","column":"name","method":"hash"}"#),
            rule(r#"{"table":"public.users","column":"note","method":"sql","sql":"left(note, 3)"}"#),
        ];
        let new = vec![
            rule(r#"{"table":"public.users","column":"name","method":"fake_name"}"#),
            rule(r#"{"table":"public.users","column":"note","method":"sql","sql":"left(note, 3)"}"#),
            rule(r#"{"table":"public.users","column":"email","method":"fake_email"}"#),
        ];
        assert_eq!(
            changes(&old, &new),
            "changed public.users.name to fake_name; added public.users.email (fake_email)"
        );
        assert_eq!(
            changes(&new, &old[..1]),
            "changed public.users.name to hash; removed public.users.note; removed public.users.email"
        );
        assert!(!touches_sql(&old, &new), "an sql rule kept as it was is not an edit");
        let edited = vec![rule(r#"{"table":"public.users","column":"note","method":"sql","sql":"NULL"}"#)];
        assert!(touches_sql(&old, &edited));
    }
}
