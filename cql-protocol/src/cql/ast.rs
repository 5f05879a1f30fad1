//! The typed statements the CQL parser produces. This module owns the shape of a
//! parsed statement only: no parsing (see `parser`) and no execution (the node does that).
//!
//! Identifiers are already normalised: unquoted names are lower-cased, quoted names
//! keep their case. Number literals keep their source text so the executor can read
//! them as the column's type (int, bigint, varint, decimal, float, ...).

use uuid::Uuid;

pub use super::auth::{AlterRole, CreateRole, DropRole, GrantPermissions, ListPermissions, ListRoles, Permission, Resource, RoleOptions};

/// A name that may be qualified by a keyspace: `ks.table` or `table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    pub keyspace: Option<String>,
    pub name: String,
}

impl QualifiedName {
    /// `ks.name` or `name` without quotes, as Cassandra's messages name what
    /// a statement wrote (`Display` prints it back as CQL, quoted as needed).
    pub fn unquoted(&self) -> String {
        match &self.keyspace {
            Some(keyspace) => format!("{keyspace}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateKeyspace(CreateKeyspace),
    AlterKeyspace(AlterKeyspace),
    DropKeyspace(DropKeyspace),
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    DropTable(DropTable),
    Truncate(Truncate),
    CreateType(CreateType),
    DropType(DropType),
    CreateIndex(CreateIndex),
    DropIndex(DropIndex),
    Use(String),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Select(Select),
    Batch(Batch),
    Describe(Describe),
    CreateRole(CreateRole),
    AlterRole(AlterRole),
    DropRole(DropRole),
    ListRoles(ListRoles),
    Grant(GrantPermissions),
    Revoke(GrantPermissions),
    ListPermissions(ListPermissions),
    NodeTool(NodeTool),
}

/// A rustica extension, not Cassandra's CQL: the cluster operations that
/// Cassandra's nodetool runs over JMX, sent by `rustica` tools over CQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeTool {
    /// `NODETOOL DECOMMISSION [FORCE]`: the node streams its ranges away and
    /// leaves; FORCE even when a keyspace keeps fewer nodes than its RF.
    Decommission { force: bool },
    /// `NODETOOL REMOVENODE <host id>`: re-streams a dead node's ranges and
    /// drops it from the ring.
    RemoveNode(String),
    /// `NODETOOL CLEANUP`: drops the data of ranges this node no longer replicates.
    Cleanup,
    /// `NODETOOL FLUSH`: writes every memtable to disk.
    Flush,
    /// `NODETOOL COMPACT`: a major compaction of every table.
    Compact,
    /// `NODETOOL DRAIN`: flushes every memtable before a planned stop.
    Drain,
    /// `NODETOOL INFO`: the node's own facts, as (name, value) rows.
    Info,
    /// `NODETOOL TABLESTATS [keyspace]`: each table's figures.
    TableStats(Option<String>),
    /// `NODETOOL TPSTATS`: the node's tasks, as nodetool's thread pools.
    TpStats,
    /// `NODETOOL SETTRACEPROBABILITY <number>`: the share of requests this
    /// node traces unasked, as written (the node checks it lies in 0..1).
    SetTraceProbability(String),
    /// `NODETOOL GETTRACEPROBABILITY`: that share, as one row.
    GetTraceProbability,
    /// `NODETOOL REPAIR [keyspace [table]] [FULL | INCREMENTAL] [PRIMARY] [START <token>] [END <token>]`:
    /// anti-entropy repair of the ranges this node replicates.
    Repair(RepairOptions),
}

/// What `NODETOOL REPAIR` repairs: every replicated keyspace, or one keyspace,
/// or one table; every range the node replicates or only its primary ranges
/// (nodetool's `-pr`); within the tokens `(start, end]` when given (nodetool's
/// `-st`/`-et`); incremental (the default, as in Cassandra 4) or full
/// (nodetool's `--full`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairOptions {
    pub keyspace: Option<String>,
    pub table: Option<String>,
    /// A full repair (compares everything) rather than an incremental one.
    pub full: bool,
    pub primary_range: bool,
    pub start_token: Option<i64>,
    pub end_token: Option<i64>,
}

// ---------------------------------------------------------------- types

/// A CQL type as written in DDL (`frozen<list<int>>`, `my_udt`, `'org.Custom'`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    Native(NativeType),
    List(Box<CqlType>),
    Set(Box<CqlType>),
    Map(Box<CqlType>, Box<CqlType>),
    Tuple(Vec<CqlType>),
    Frozen(Box<CqlType>),
    UserDefined(QualifiedName),
    Custom(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    /// `text` and its alias `varchar`.
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
}

// ---------------------------------------------------------------- terms

/// A value in a statement: a literal, a bind marker or a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Null,
    Boolean(bool),
    /// An integer literal, sign included, as written (`-12`).
    Integer(String),
    /// A floating point literal as written (`1.5`, `-2e3`, `NaN`, `Infinity`, `-Infinity`).
    Float(String),
    /// A string literal, `'...'` or `$$...$$`, unescaped.
    String(String),
    Uuid(Uuid),
    /// A blob literal `0xCAFE`, decoded.
    Blob(Vec<u8>),
    /// A duration literal such as `1h30m` or `P1DT2H`, as written.
    Duration(String),
    List(Vec<Term>),
    Set(Vec<Term>),
    Map(Vec<(Term, Term)>),
    /// `(a, b, c)`: a tuple value, or the value list of an `IN (...)` relation.
    Tuple(Vec<Term>),
    /// `{field: value, ...}` where the target is a user-defined type. The parser
    /// produces it only when the keys are identifiers (a map literal has term keys).
    UserType(Vec<(String, Term)>),
    /// `?` or `:name`; `index` counts markers from 0 in order of appearance.
    Bind {
        index: usize,
        name: Option<String>,
    },
    /// `now()`, `uuid()`, `toTimestamp(now())`, `token(?)`...; the name lower-cased.
    FunctionCall {
        name: String,
        args: Vec<Term>,
    },
    /// `(type) term`: a type hint.
    Cast(CqlType, Box<Term>),
}

// ---------------------------------------------------------------- properties

/// `name = value` in a WITH clause; map values are `Term::Map` with string keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub value: Term,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    Asc,
    Desc,
}

// ---------------------------------------------------------------- DDL

#[derive(Debug, Clone, PartialEq)]
pub struct CreateKeyspace {
    pub name: String,
    pub if_not_exists: bool,
    /// `replication = {...}`, `durable_writes = ...`.
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlterKeyspace {
    pub name: String,
    pub if_exists: bool,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DropKeyspace {
    pub name: String,
    pub if_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: CqlType,
    pub is_static: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    /// Columns in the order written, key columns included.
    pub columns: Vec<ColumnDef>,
    /// From `PRIMARY KEY ((a, b), c, d)` or an inline `a int PRIMARY KEY`.
    pub partition_key: Vec<String>,
    pub clustering_key: Vec<String>,
    /// `WITH CLUSTERING ORDER BY (c DESC, d ASC)`.
    pub clustering_order: Vec<(String, Order)>,
    pub compact_storage: bool,
    /// Every other `WITH` option, kept as written.
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    pub name: QualifiedName,
    pub if_exists: bool,
    pub action: AlterTableAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableAction {
    /// `ADD c int` or `ADD (c int, d text)`.
    Add(Vec<ColumnDef>),
    /// `DROP c` or `DROP (c, d)`.
    Drop(Vec<String>),
    /// `RENAME a TO b AND c TO d`.
    Rename(Vec<(String, String)>),
    /// `ALTER c TYPE t`.
    AlterType { column: String, ty: CqlType },
    /// `WITH comment = '...' AND ...`.
    With(Vec<Property>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DropTable {
    pub name: QualifiedName,
    pub if_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Truncate {
    pub name: QualifiedName,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateType {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub fields: Vec<(String, CqlType)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DropType {
    pub name: QualifiedName,
    pub if_exists: bool,
}

/// What of a column an index holds: `col`, `values(col)`, `keys(col)`,
/// `entries(col)` or `full(col)`, as Cassandra's `IndexTarget.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexTargetKind {
    /// A plain column (a collection's values when the column is a collection).
    Simple,
    Values,
    Keys,
    Entries,
    Full,
}

impl IndexTargetKind {
    /// The word before the parentheses (`keys`), empty for a plain column.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexTargetKind::Simple => "",
            IndexTargetKind::Values => "values",
            IndexTargetKind::Keys => "keys",
            IndexTargetKind::Entries => "entries",
            IndexTargetKind::Full => "full",
        }
    }
}

/// `CREATE INDEX [IF NOT EXISTS] [name] ON [ks.]table (target)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    pub name: Option<String>,
    pub table: QualifiedName,
    pub if_not_exists: bool,
    pub kind: IndexTargetKind,
    pub column: String,
}

/// `DROP INDEX [IF EXISTS] [ks.]name`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropIndex {
    pub name: QualifiedName,
    pub if_exists: bool,
}

// ---------------------------------------------------------------- DML

/// `USING TTL t AND TIMESTAMP ts`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Using {
    pub ttl: Option<Term>,
    pub timestamp: Option<Term>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub values: Vec<Term>,
    /// `INSERT INTO t JSON '...'`: the JSON term; `columns`/`values` are empty then.
    pub json: Option<Term>,
    /// `DEFAULT UNSET` after the JSON: columns it leaves out keep their values
    /// (by default, `DEFAULT NULL`, they are set to null).
    pub json_default_unset: bool,
    pub if_not_exists: bool,
    pub using: Using,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    /// `c = v`
    Set { column: String, value: Term },
    /// `c[k] = v` (list index or map key)
    SetElement { column: String, key: Term, value: Term },
    /// `c.field = v` (non-frozen user type)
    SetField { column: String, field: String, value: Term },
    /// `c = c + v` or `c += v`: list append, set/map union, counter increment.
    Add { column: String, value: Term },
    /// `c = v + c`: list prepend.
    Prepend { column: String, value: Term },
    /// `c = c - v` or `c -= v`: list/set/map removal, counter decrement.
    Remove { column: String, value: Term },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Contains,
    ContainsKey,
    Like,
}

/// The left side of a WHERE relation.
#[derive(Debug, Clone, PartialEq)]
pub enum RelationTarget {
    Column(String),
    /// `(a, b) > (1, 2)`
    Tuple(Vec<String>),
    /// `token(a, b) > ...`
    Token(Vec<String>),
    /// `m['key'] = ...`: one entry of a map.
    MapEntry {
        column: String,
        key: Term,
    },
}

/// One relation of a WHERE clause. For `IN` the value is a `Term::Tuple` of the
/// listed values or a bind marker; for a tuple target the value is a `Term::Tuple`
/// (or, with `IN`, a tuple of tuples).
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub target: RelationTarget,
    pub op: Operator,
    pub value: Term,
}

/// An `IF` condition of a lightweight transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    /// `IF m['k'] = ...`
    pub element: Option<Term>,
    pub op: Operator,
    pub value: Term,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: QualifiedName,
    pub using: Using,
    pub assignments: Vec<Assignment>,
    pub where_clause: Vec<Relation>,
    pub if_exists: bool,
    pub conditions: Vec<Condition>,
}

/// What a DELETE removes: a column, a collection element, or a user type field.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteTarget {
    Column(String),
    Element { column: String, key: Term },
    Field { column: String, field: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: QualifiedName,
    /// Empty: the whole row, rows or partition the WHERE clause names.
    pub targets: Vec<DeleteTarget>,
    pub timestamp: Option<Term>,
    pub where_clause: Vec<Relation>,
    pub if_exists: bool,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectorExpr {
    Column(String),
    /// `count(*)` or `count(1)`.
    CountAll,
    WriteTime(String),
    Ttl(String),
    /// Any other function: `token(a, b)`, `toJson(c)`, `max(c)`, `now()`...; name lower-cased.
    Function {
        name: String,
        args: Vec<SelectorExpr>,
    },
    /// `CAST(expr AS type)`
    Cast(Box<SelectorExpr>, CqlType),
    /// `expr.field`
    Field(Box<SelectorExpr>, String),
    Term(Term),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub expr: SelectorExpr,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// `*`
    Wildcard,
    Selectors(Vec<Selector>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: QualifiedName,
    pub distinct: bool,
    pub json: bool,
    pub selection: Selection,
    pub where_clause: Vec<Relation>,
    pub group_by: Vec<String>,
    pub order_by: Vec<(String, Order)>,
    pub per_partition_limit: Option<Term>,
    pub limit: Option<Term>,
    pub allow_filtering: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchKind {
    Logged,
    Unlogged,
    Counter,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BatchStatement {
    Insert(Insert),
    Update(Update),
    Delete(Delete),
}

impl BatchStatement {
    /// The table the statement writes.
    pub fn table(&self) -> &QualifiedName {
        match self {
            BatchStatement::Insert(i) => &i.table,
            BatchStatement::Update(u) => &u.table,
            BatchStatement::Delete(d) => &d.table,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub kind: BatchKind,
    pub using: Using,
    pub statements: Vec<BatchStatement>,
}

/// Server-side `DESCRIBE` / `DESC` (cqlsh 6 sends these to servers of release 4.0+).
#[derive(Debug, Clone, PartialEq)]
pub enum Describe {
    Cluster,
    Keyspaces,
    /// `DESCRIBE [ONLY] KEYSPACE [name]`
    Keyspace {
        name: Option<String>,
        only: bool,
    },
    /// `DESCRIBE TABLES`
    Tables,
    Table(QualifiedName),
    Types,
    Type(QualifiedName),
    /// `DESCRIBE INDEX [ks.]name`
    Index(QualifiedName),
    Functions,
    Aggregates,
    /// `DESCRIBE [FULL] SCHEMA`
    Schema {
        full: bool,
    },
    /// `DESCRIBE name` or `DESCRIBE ks.name`: a keyspace, table or type, resolved by the server.
    Name(QualifiedName),
}
