//! Printing the AST back as CQL. Every node implements `Display`; the output
//! parses back to an equal AST. Identifiers are quoted only when they must be
//! (upper case, odd characters, reserved words), as Cassandra's DESCRIBE does.
//! Pretty layout (line breaks in schema dumps) is the caller's concern.

use std::fmt::{self, Display, Formatter};

use super::ast::{
    AlterKeyspace, AlterTable, AlterTableAction, Assignment, Batch, BatchKind, BatchStatement, ColumnDef, Condition, CqlType, CreateIndex,
    CreateKeyspace, CreateTable, CreateType, Delete, DeleteTarget, Describe, DropIndex, DropKeyspace, DropTable, DropType, IndexTargetKind,
    Insert, NativeType, NodeTool, Operator, Order, Property, QualifiedName, Relation, RelationTarget, Select, Selection, Selector,
    SelectorExpr, Statement, Term, Truncate, Update, Using,
};
use super::keyword::is_reserved;
use super::parser::term::is_iso_duration;
use super::parser::types::{native_type, TYPE_CONSTRUCTORS};

/// `name` as CQL: bare when it is a lower-case simple identifier and not a
/// reserved keyword, else in double quotes with `"` doubled.
pub fn quote_identifier(name: &str) -> String {
    Ident(name).to_string()
}

fn is_simple(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn write_quoted(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    write!(f, "\"{}\"", name.replace('"', "\"\""))
}

/// An identifier, quoted when needed.
struct Ident<'a>(&'a str);

impl Display for Ident<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_simple(self.0) && !is_reserved(self.0) {
            f.write_str(self.0)
        } else {
            write_quoted(f, self.0)
        }
    }
}

/// A function name: like an identifier, except that `token` stays bare.
struct FunctionName<'a>(&'a str);

impl Display for FunctionName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_simple(self.0) && (self.0 == "token" || !is_reserved(self.0)) {
            f.write_str(self.0)
        } else {
            write_quoted(f, self.0)
        }
    }
}

/// Items separated by `sep`.
struct Joined<'a, T>(&'a [T], &'static str);

impl<T: Display> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (n, item) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(self.1)?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

/// Identifiers separated by `, `.
struct Idents<'a>(&'a [String]);

impl Display for Idents<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (n, name) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            Ident(name).fmt(f)?;
        }
        Ok(())
    }
}

impl Display for QualifiedName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(ks) = &self.keyspace {
            write!(f, "{}.", Ident(ks))?;
        }
        Ident(&self.name).fmt(f)
    }
}

impl Display for NativeType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NativeType::Ascii => "ascii",
            NativeType::Bigint => "bigint",
            NativeType::Blob => "blob",
            NativeType::Boolean => "boolean",
            NativeType::Counter => "counter",
            NativeType::Date => "date",
            NativeType::Decimal => "decimal",
            NativeType::Double => "double",
            NativeType::Duration => "duration",
            NativeType::Float => "float",
            NativeType::Inet => "inet",
            NativeType::Int => "int",
            NativeType::Smallint => "smallint",
            NativeType::Text => "text",
            NativeType::Time => "time",
            NativeType::Timestamp => "timestamp",
            NativeType::Timeuuid => "timeuuid",
            NativeType::Tinyint => "tinyint",
            NativeType::Uuid => "uuid",
            NativeType::Varint => "varint",
        })
    }
}

impl Display for CqlType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CqlType::Native(n) => n.fmt(f),
            CqlType::List(t) => write!(f, "list<{t}>"),
            CqlType::Set(t) => write!(f, "set<{t}>"),
            CqlType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            CqlType::Tuple(ts) => write!(f, "tuple<{}>", Joined(ts, ", ")),
            CqlType::Frozen(t) => write!(f, "frozen<{t}>"),
            CqlType::UserDefined(name) => {
                if let Some(ks) = &name.keyspace {
                    write!(f, "{}.", Ident(ks))?;
                }
                // A user type named like a native type or a type constructor
                // must be quoted, or it would read back as that type.
                let lower = name.name.as_str();
                if native_type(lower).is_some() || TYPE_CONSTRUCTORS.contains(&lower) {
                    write_quoted(f, lower)
                } else {
                    Ident(lower).fmt(f)
                }
            }
            CqlType::Custom(class) => write_string(f, class),
        }
    }
}

fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Term::Null => f.write_str("null"),
            Term::Boolean(b) => write!(f, "{b}"),
            Term::Integer(s) | Term::Float(s) | Term::Duration(s) => f.write_str(s),
            Term::String(s) => write_string(f, s),
            Term::Uuid(u) => write!(f, "{}", u.hyphenated()),
            Term::Blob(bytes) => {
                f.write_str("0x")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            Term::List(items) => write!(f, "[{}]", Joined(items, ", ")),
            Term::Set(items) => write!(f, "{{{}}}", Joined(items, ", ")),
            Term::Map(entries) => {
                f.write_str("{")?;
                for (n, (k, v)) in entries.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Term::Tuple(items) => write!(f, "({})", Joined(items, ", ")),
            Term::UserType(fields) => {
                f.write_str("{")?;
                for (n, (name, v)) in fields.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    // A field named like an ISO duration (`p1d`) would read back as a
                    // duration, turning the value into a map.
                    if is_iso_duration(name) {
                        write_quoted(f, name)?;
                    } else {
                        Ident(name).fmt(f)?;
                    }
                    write!(f, ": {v}")?;
                }
                f.write_str("}")
            }
            Term::Bind { name: None, .. } => f.write_str("?"),
            Term::Bind { name: Some(name), .. } => write!(f, ":{}", Ident(name)),
            Term::FunctionCall { name, args } => write!(f, "{}({})", FunctionName(name), Joined(args, ", ")),
            Term::Cast(ty, term) => write!(f, "({ty}) {term}"),
        }
    }
}

impl Display for Property {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", Ident(&self.name), self.value)
    }
}

impl Display for Order {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        })
    }
}

fn if_not_exists(flag: bool) -> &'static str {
    if flag {
        "IF NOT EXISTS "
    } else {
        ""
    }
}

fn if_exists(flag: bool) -> &'static str {
    if flag {
        "IF EXISTS "
    } else {
        ""
    }
}

fn write_with(f: &mut Formatter<'_>, properties: &[Property]) -> fmt::Result {
    if properties.is_empty() {
        Ok(())
    } else {
        write!(f, " WITH {}", Joined(properties, " AND "))
    }
}

impl Display for CreateKeyspace {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE KEYSPACE {}{}", if_not_exists(self.if_not_exists), Ident(&self.name))?;
        write_with(f, &self.properties)
    }
}

impl Display for AlterKeyspace {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER KEYSPACE {}{}", if_exists(self.if_exists), Ident(&self.name))?;
        write_with(f, &self.properties)
    }
}

impl Display for DropKeyspace {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DROP KEYSPACE {}{}", if_exists(self.if_exists), Ident(&self.name))
    }
}

impl Display for ColumnDef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", Ident(&self.name), self.ty)?;
        if self.is_static {
            f.write_str(" STATIC")?;
        }
        Ok(())
    }
}

impl Display for CreateTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE TABLE {}{} (", if_not_exists(self.if_not_exists), self.name)?;
        for column in &self.columns {
            write!(f, "{column}, ")?;
        }
        f.write_str("PRIMARY KEY (")?;
        match self.partition_key.as_slice() {
            [single] => Ident(single).fmt(f)?,
            several => write!(f, "({})", Idents(several))?,
        }
        for column in &self.clustering_key {
            write!(f, ", {}", Ident(column))?;
        }
        f.write_str("))")?;
        let mut options: Vec<String> = Vec::new();
        if !self.clustering_order.is_empty() {
            let order: Vec<String> = self.clustering_order.iter().map(|(c, o)| format!("{} {o}", Ident(c))).collect();
            options.push(format!("CLUSTERING ORDER BY ({})", order.join(", ")));
        }
        if self.compact_storage {
            options.push("COMPACT STORAGE".to_string());
        }
        options.extend(self.properties.iter().map(ToString::to_string));
        if !options.is_empty() {
            write!(f, " WITH {}", options.join(" AND "))?;
        }
        Ok(())
    }
}

impl Display for AlterTableAction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AlterTableAction::Add(columns) => match columns.as_slice() {
                [single] => write!(f, "ADD {single}"),
                several => write!(f, "ADD ({})", Joined(several, ", ")),
            },
            AlterTableAction::Drop(columns) => match columns.as_slice() {
                [single] => write!(f, "DROP {}", Ident(single)),
                several => write!(f, "DROP ({})", Idents(several)),
            },
            AlterTableAction::Rename(pairs) => {
                f.write_str("RENAME ")?;
                for (n, (from, to)) in pairs.iter().enumerate() {
                    if n > 0 {
                        f.write_str(" AND ")?;
                    }
                    write!(f, "{} TO {}", Ident(from), Ident(to))?;
                }
                Ok(())
            }
            AlterTableAction::AlterType { column, ty } => write!(f, "ALTER {} TYPE {ty}", Ident(column)),
            AlterTableAction::With(properties) => write!(f, "WITH {}", Joined(properties, " AND ")),
        }
    }
}

impl Display for AlterTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER TABLE {}{} {}", if_exists(self.if_exists), self.name, self.action)
    }
}

impl Display for DropTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DROP TABLE {}{}", if_exists(self.if_exists), self.name)
    }
}

impl Display for Truncate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "TRUNCATE TABLE {}", self.name)
    }
}

impl Display for CreateType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE TYPE {}{} (", if_not_exists(self.if_not_exists), self.name)?;
        for (n, (name, ty)) in self.fields.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {ty}", Ident(name))?;
        }
        f.write_str(")")
    }
}

impl Display for DropType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DROP TYPE {}{}", if_exists(self.if_exists), self.name)
    }
}

impl Display for CreateIndex {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE INDEX {}", if_not_exists(self.if_not_exists))?;
        if let Some(name) = &self.name {
            write!(f, "{} ", Ident(name))?;
        }
        match self.kind {
            IndexTargetKind::Simple => write!(f, "ON {} ({})", self.table, Ident(&self.column)),
            kind => write!(f, "ON {} ({}({}))", self.table, kind.as_str(), Ident(&self.column)),
        }
    }
}

impl Display for DropIndex {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DROP INDEX {}{}", if_exists(self.if_exists), self.name)
    }
}

impl Display for Using {
    /// ` USING TTL t AND TIMESTAMP ts` with a leading space, or nothing.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (&self.ttl, &self.timestamp) {
            (None, None) => Ok(()),
            (Some(ttl), None) => write!(f, " USING TTL {ttl}"),
            (None, Some(ts)) => write!(f, " USING TIMESTAMP {ts}"),
            (Some(ttl), Some(ts)) => write!(f, " USING TTL {ttl} AND TIMESTAMP {ts}"),
        }
    }
}

impl Display for Insert {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "INSERT INTO {}", self.table)?;
        match &self.json {
            Some(json) => {
                write!(f, " JSON {json}")?;
                if self.json_default_unset {
                    f.write_str(" DEFAULT UNSET")?;
                }
            }
            None => write!(f, " ({}) VALUES ({})", Idents(&self.columns), Joined(&self.values, ", "))?,
        }
        if self.if_not_exists {
            f.write_str(" IF NOT EXISTS")?;
        }
        self.using.fmt(f)
    }
}

impl Display for Assignment {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Assignment::Set { column, value } => write!(f, "{} = {value}", Ident(column)),
            Assignment::SetElement { column, key, value } => write!(f, "{}[{key}] = {value}", Ident(column)),
            Assignment::SetField { column, field, value } => write!(f, "{}.{} = {value}", Ident(column), Ident(field)),
            Assignment::Add { column, value } => write!(f, "{c} = {c} + {value}", c = Ident(column)),
            Assignment::Prepend { column, value } => write!(f, "{c} = {value} + {c}", c = Ident(column)),
            Assignment::Remove { column, value } => write!(f, "{c} = {c} - {value}", c = Ident(column)),
        }
    }
}

impl Display for Operator {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::Eq => "=",
            Operator::Neq => "!=",
            Operator::Lt => "<",
            Operator::Lte => "<=",
            Operator::Gt => ">",
            Operator::Gte => ">=",
            Operator::In => "IN",
            Operator::Contains => "CONTAINS",
            Operator::ContainsKey => "CONTAINS KEY",
            Operator::Like => "LIKE",
        })
    }
}

impl Display for RelationTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RelationTarget::Column(c) => Ident(c).fmt(f),
            RelationTarget::Tuple(columns) => write!(f, "({})", Idents(columns)),
            RelationTarget::Token(columns) => write!(f, "token({})", Idents(columns)),
            RelationTarget::MapEntry { column, key } => write!(f, "{}[{key}]", Ident(column)),
        }
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.target, self.op, self.value)
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Ident(&self.column).fmt(f)?;
        if let Some(element) = &self.element {
            write!(f, "[{element}]")?;
        }
        write!(f, " {} {}", self.op, self.value)
    }
}

fn write_where(f: &mut Formatter<'_>, relations: &[Relation]) -> fmt::Result {
    if relations.is_empty() {
        Ok(())
    } else {
        write!(f, " WHERE {}", Joined(relations, " AND "))
    }
}

fn write_if(f: &mut Formatter<'_>, if_exists: bool, conditions: &[Condition]) -> fmt::Result {
    if if_exists {
        f.write_str(" IF EXISTS")
    } else if conditions.is_empty() {
        Ok(())
    } else {
        write!(f, " IF {}", Joined(conditions, " AND "))
    }
}

impl Display for Update {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "UPDATE {}{} SET {}", self.table, self.using, Joined(&self.assignments, ", "))?;
        write_where(f, &self.where_clause)?;
        write_if(f, self.if_exists, &self.conditions)
    }
}

impl Display for DeleteTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DeleteTarget::Column(c) => Ident(c).fmt(f),
            DeleteTarget::Element { column, key } => write!(f, "{}[{key}]", Ident(column)),
            DeleteTarget::Field { column, field } => write!(f, "{}.{}", Ident(column), Ident(field)),
        }
    }
}

impl Display for Delete {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("DELETE ")?;
        if !self.targets.is_empty() {
            write!(f, "{} ", Joined(&self.targets, ", "))?;
        }
        write!(f, "FROM {}", self.table)?;
        if let Some(ts) = &self.timestamp {
            write!(f, " USING TIMESTAMP {ts}")?;
        }
        write_where(f, &self.where_clause)?;
        write_if(f, self.if_exists, &self.conditions)
    }
}

impl Display for SelectorExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectorExpr::Column(c) => Ident(c).fmt(f),
            SelectorExpr::CountAll => f.write_str("count(*)"),
            SelectorExpr::WriteTime(c) => write!(f, "writetime({})", Ident(c)),
            SelectorExpr::Ttl(c) => write!(f, "ttl({})", Ident(c)),
            SelectorExpr::Function { name, args } => write!(f, "{}({})", FunctionName(name), Joined(args, ", ")),
            SelectorExpr::Cast(expr, ty) => write!(f, "CAST({expr} AS {ty})"),
            SelectorExpr::Field(expr, field) => write!(f, "{expr}.{}", Ident(field)),
            SelectorExpr::Term(t) => t.fmt(f),
        }
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Ident(alias))?;
        }
        Ok(())
    }
}

impl Display for Selection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Wildcard => f.write_str("*"),
            Selection::Selectors(selectors) => Joined(selectors, ", ").fmt(f),
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if self.json {
            f.write_str("JSON ")?;
        }
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        write!(f, "{} FROM {}", self.selection, self.table)?;
        write_where(f, &self.where_clause)?;
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", Idents(&self.group_by))?;
        }
        if !self.order_by.is_empty() {
            let order: Vec<String> = self.order_by.iter().map(|(c, o)| format!("{} {o}", Ident(c))).collect();
            write!(f, " ORDER BY {}", order.join(", "))?;
        }
        if let Some(n) = &self.per_partition_limit {
            write!(f, " PER PARTITION LIMIT {n}")?;
        }
        if let Some(n) = &self.limit {
            write!(f, " LIMIT {n}")?;
        }
        if self.allow_filtering {
            f.write_str(" ALLOW FILTERING")?;
        }
        Ok(())
    }
}

impl Display for BatchKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchKind::Logged => "BEGIN BATCH",
            BatchKind::Unlogged => "BEGIN UNLOGGED BATCH",
            BatchKind::Counter => "BEGIN COUNTER BATCH",
        })
    }
}

impl Display for BatchStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            BatchStatement::Insert(s) => s.fmt(f),
            BatchStatement::Update(s) => s.fmt(f),
            BatchStatement::Delete(s) => s.fmt(f),
        }
    }
}

impl Display for Batch {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind, self.using)?;
        for statement in &self.statements {
            write!(f, " {statement};")?;
        }
        f.write_str(" APPLY BATCH")
    }
}

/// Words that DESCRIBE reads as a listing when they stand alone.
const DESCRIBE_LISTINGS: [&str; 6] = ["cluster", "keyspaces", "tables", "types", "functions", "aggregates"];

impl Display for Describe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Describe::Cluster => f.write_str("DESCRIBE CLUSTER"),
            Describe::Keyspaces => f.write_str("DESCRIBE KEYSPACES"),
            Describe::Keyspace { name, only } => {
                f.write_str(if *only { "DESCRIBE ONLY KEYSPACE" } else { "DESCRIBE KEYSPACE" })?;
                match name {
                    Some(name) => write!(f, " {}", Ident(name)),
                    None => Ok(()),
                }
            }
            Describe::Tables => f.write_str("DESCRIBE TABLES"),
            Describe::Table(name) => write!(f, "DESCRIBE TABLE {name}"),
            Describe::Types => f.write_str("DESCRIBE TYPES"),
            Describe::Type(name) => write!(f, "DESCRIBE TYPE {name}"),
            Describe::Index(name) => write!(f, "DESCRIBE INDEX {name}"),
            Describe::Functions => f.write_str("DESCRIBE FUNCTIONS"),
            Describe::Aggregates => f.write_str("DESCRIBE AGGREGATES"),
            Describe::Schema { full } => f.write_str(if *full { "DESCRIBE FULL SCHEMA" } else { "DESCRIBE SCHEMA" }),
            Describe::Name(name) if name.keyspace.is_none() && DESCRIBE_LISTINGS.contains(&name.name.as_str()) => {
                f.write_str("DESCRIBE ")?;
                write_quoted(f, &name.name)
            }
            Describe::Name(name) => write!(f, "DESCRIBE {name}"),
        }
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateKeyspace(s) => s.fmt(f),
            Statement::AlterKeyspace(s) => s.fmt(f),
            Statement::DropKeyspace(s) => s.fmt(f),
            Statement::CreateTable(s) => s.fmt(f),
            Statement::AlterTable(s) => s.fmt(f),
            Statement::DropTable(s) => s.fmt(f),
            Statement::Truncate(s) => s.fmt(f),
            Statement::CreateType(s) => s.fmt(f),
            Statement::DropType(s) => s.fmt(f),
            Statement::CreateIndex(s) => s.fmt(f),
            Statement::DropIndex(s) => s.fmt(f),
            Statement::Use(keyspace) => write!(f, "USE {}", Ident(keyspace)),
            Statement::Insert(s) => s.fmt(f),
            Statement::Update(s) => s.fmt(f),
            Statement::Delete(s) => s.fmt(f),
            Statement::Select(s) => s.fmt(f),
            Statement::Batch(s) => s.fmt(f),
            Statement::Describe(s) => s.fmt(f),
            Statement::CreateRole(s) => s.fmt(f),
            Statement::AlterRole(s) => s.fmt(f),
            Statement::DropRole(s) => s.fmt(f),
            Statement::ListRoles(s) => s.fmt(f),
            Statement::Grant(s) => s.fmt(f),
            Statement::Revoke(s) => super::auth::Revoke(s).fmt(f),
            Statement::ListPermissions(s) => s.fmt(f),
            Statement::NodeTool(NodeTool::Decommission { force: false }) => f.write_str("NODETOOL DECOMMISSION"),
            Statement::NodeTool(NodeTool::Decommission { force: true }) => f.write_str("NODETOOL DECOMMISSION FORCE"),
            Statement::NodeTool(NodeTool::RemoveNode(host_id)) => write!(f, "NODETOOL REMOVENODE {host_id}"),
            Statement::NodeTool(NodeTool::Cleanup) => f.write_str("NODETOOL CLEANUP"),
            Statement::NodeTool(NodeTool::Flush) => f.write_str("NODETOOL FLUSH"),
            Statement::NodeTool(NodeTool::Compact) => f.write_str("NODETOOL COMPACT"),
            Statement::NodeTool(NodeTool::Drain) => f.write_str("NODETOOL DRAIN"),
            Statement::NodeTool(NodeTool::Info) => f.write_str("NODETOOL INFO"),
            Statement::NodeTool(NodeTool::TableStats(None)) => f.write_str("NODETOOL TABLESTATS"),
            Statement::NodeTool(NodeTool::TableStats(Some(keyspace))) => {
                f.write_str("NODETOOL TABLESTATS ")?;
                write_quoted(f, keyspace)
            }
            Statement::NodeTool(NodeTool::TpStats) => f.write_str("NODETOOL TPSTATS"),
            Statement::NodeTool(NodeTool::SetTraceProbability(p)) => write!(f, "NODETOOL SETTRACEPROBABILITY {p}"),
            Statement::NodeTool(NodeTool::GetTraceProbability) => f.write_str("NODETOOL GETTRACEPROBABILITY"),
            Statement::NodeTool(NodeTool::Repair(options)) => {
                f.write_str("NODETOOL REPAIR")?;
                // A name spelt like an option word is quoted, so it parses back as a name.
                let name = |f: &mut Formatter<'_>, name: &str| {
                    if ["full", "incremental", "primary", "start", "end"].contains(&name) {
                        write_quoted(f, name)
                    } else {
                        write!(f, "{}", Ident(name))
                    }
                };
                if let Some(keyspace) = &options.keyspace {
                    f.write_str(" ")?;
                    name(f, keyspace)?;
                    if let Some(table) = &options.table {
                        f.write_str(" ")?;
                        name(f, table)?;
                    }
                }
                if options.full {
                    f.write_str(" FULL")?;
                }
                if options.primary_range {
                    f.write_str(" PRIMARY")?;
                }
                if let Some(t) = options.start_token {
                    write!(f, " START {t}")?;
                }
                if let Some(t) = options.end_token {
                    write!(f, " END {t}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_identifier("key"), "key");
        assert_eq!(quote_identifier("data_center"), "data_center");
        assert_eq!(quote_identifier("MyTable"), "\"MyTable\"");
        assert_eq!(quote_identifier("select"), "\"select\"");
        assert_eq!(quote_identifier("with\"quote"), "\"with\"\"quote\"");
        assert_eq!(quote_identifier("1abc"), "\"1abc\"");
        assert_eq!(quote_identifier(""), "\"\"");
    }

    #[test]
    fn types_print_with_cassandra_names() {
        let ty = CqlType::Frozen(Box::new(CqlType::Map(
            Box::new(CqlType::Native(NativeType::Text)),
            Box::new(CqlType::List(Box::new(CqlType::Native(NativeType::Int)))),
        )));
        assert_eq!(ty.to_string(), "frozen<map<text, list<int>>>");
        let udt = CqlType::UserDefined(QualifiedName {
            keyspace: Some("Ks".into()),
            name: "int".into(),
        });
        assert_eq!(udt.to_string(), "\"Ks\".\"int\"");
    }

    #[test]
    fn terms_print_as_cql_literals() {
        let term = Term::List(vec![
            Term::String("it's".into()),
            Term::Blob(vec![0xca, 0xfe]),
            Term::Bind {
                index: 0,
                name: Some("Name".into()),
            },
            Term::Cast(CqlType::Native(NativeType::Int), Box::new(Term::Bind { index: 1, name: None })),
        ]);
        assert_eq!(term.to_string(), "['it''s', 0xcafe, :\"Name\", (int) ?]");
    }
}
