//! Schema statements: CREATE / ALTER / DROP KEYSPACE, CREATE / ALTER / DROP TABLE,
//! TRUNCATE, CREATE / DROP TYPE, CREATE / DROP INDEX, and the `WITH name = value AND ...` properties
//! they share. Option values are kept as written; validating them (a known
//! compaction class, a positive replication factor) is the schema's job.

use crate::cql::ast::{
    AlterKeyspace, AlterTable, AlterTableAction, ColumnDef, CreateIndex, CreateKeyspace, CreateTable, CreateType, DropIndex, DropKeyspace,
    DropTable, DropType, IndexTargetKind, Order, Property, QualifiedName, Statement, Truncate,
};

use super::input::{at_kw, at_sym, ident, if_exists, if_not_exists, kw, qualified_name, sym, PResult, Tokens};
use super::relation::and_list;
use super::select::ordering;
use super::term::{comma_list, parenthesised, term};
use super::types::cql_type;

/// `TABLE` or its old alias `COLUMNFAMILY`.
fn table_keyword(i: Tokens<'_>) -> PResult<'_, ()> {
    if at_kw(&i, "COLUMNFAMILY") {
        return Ok((i.next(), ()));
    }
    kw("TABLE")(i)
}

/// `KEYSPACE` or its alias `SCHEMA`.
fn keyspace_keyword(i: Tokens<'_>) -> PResult<'_, ()> {
    if at_kw(&i, "SCHEMA") {
        return Ok((i.next(), ()));
    }
    kw("KEYSPACE")(i)
}

/// `CREATE KEYSPACE | TABLE | TYPE ...`
pub(crate) fn create(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("CREATE")(i)?;
    if at_kw(&i, "KEYSPACE") || at_kw(&i, "SCHEMA") {
        let (i, ()) = keyspace_keyword(i)?;
        let (i, if_not_exists) = if_not_exists(i)?;
        let (i, name) = ident(i)?;
        let (i, ()) = kw("WITH")(i)?;
        let (i, properties) = and_list(i, property)?;
        return Ok((
            i,
            Statement::CreateKeyspace(CreateKeyspace {
                name,
                if_not_exists,
                properties,
            }),
        ));
    }
    if at_kw(&i, "TYPE") {
        let (i, if_not_exists) = if_not_exists(i.next())?;
        let (i, name) = qualified_name(i)?;
        let (i, fields) = parenthesised(i, field)?;
        if fields.is_empty() {
            return Err(i.fail(format!("type {} needs at least one field", name.name)));
        }
        return Ok((
            i,
            Statement::CreateType(CreateType {
                name,
                if_not_exists,
                fields,
            }),
        ));
    }
    if at_kw(&i, "INDEX") {
        return create_index(i.next()).map(|(i, s)| (i, Statement::CreateIndex(s)));
    }
    if !(at_kw(&i, "TABLE") || at_kw(&i, "COLUMNFAMILY")) {
        i.expect_err("KEYSPACE");
        i.expect_err("TYPE");
        i.expect_err("INDEX");
    }
    let (i, ()) = table_keyword(i)?;
    let (i, table) = create_table(i)?;
    Ok((i, Statement::CreateTable(table)))
}

/// After `CREATE INDEX`: `[IF NOT EXISTS] [name] ON table (target)`.
fn create_index(i: Tokens<'_>) -> PResult<'_, CreateIndex> {
    let (i, if_not_exists) = if_not_exists(i)?;
    let (i, name) = if at_kw(&i, "ON") {
        (i, None)
    } else {
        i.expect_err("ON");
        let (i, name) = ident(i)?;
        (i, Some(name))
    };
    let (i, ()) = kw("ON")(i)?;
    let (i, table) = qualified_name(i)?;
    let (i, ()) = sym("(")(i)?;
    let kinds = [
        ("VALUES", IndexTargetKind::Values),
        ("KEYS", IndexTargetKind::Keys),
        ("ENTRIES", IndexTargetKind::Entries),
        ("FULL", IndexTargetKind::Full),
    ];
    let wrapped = kinds.iter().find(|(word, _)| at_kw(&i, word) && at_sym(&i.next(), "("));
    let (i, kind, column) = match wrapped {
        Some((_, kind)) => {
            let (i, column) = ident(i.next().next())?;
            let (i, ()) = sym(")")(i)?;
            (i, *kind, column)
        }
        None => {
            let (i, column) = ident(i)?;
            (i, IndexTargetKind::Simple, column)
        }
    };
    let (i, ()) = sym(")")(i)?;
    Ok((
        i,
        CreateIndex {
            name,
            table,
            if_not_exists,
            kind,
            column,
        },
    ))
}

fn field(i: Tokens<'_>) -> PResult<'_, (String, crate::cql::ast::CqlType)> {
    let (i, name) = ident(i)?;
    let (i, ty) = cql_type(i)?;
    Ok((i, (name, ty)))
}

/// One entry between the parentheses of CREATE TABLE.
enum TableEntry {
    Column { def: ColumnDef, primary_key: bool },
    PrimaryKey { partition: Vec<String>, clustering: Vec<String> },
}

/// One `WITH` option of CREATE TABLE.
enum TableOption {
    ClusteringOrder(Vec<(String, Order)>),
    CompactStorage,
    Property(Property),
}

/// After `CREATE TABLE`: `[IF NOT EXISTS] name (entries) [WITH options]`.
fn create_table(i: Tokens<'_>) -> PResult<'_, CreateTable> {
    let (i, if_not_exists) = if_not_exists(i)?;
    let (i, name) = qualified_name(i)?;
    let open = i;
    let (mut i, ()) = sym("(")(i)?;
    let mut entries = Vec::new();
    loop {
        let (rest, entry) = table_entry(i)?;
        entries.push(entry);
        if at_sym(&rest, ",") {
            // Cassandra accepts stray commas, a trailing one included.
            i = rest;
            while at_sym(&i, ",") {
                i = i.next();
            }
            if at_sym(&i, ")") {
                i = i.next();
                break;
            }
            continue;
        }
        rest.expect_err("','");
        let (rest, ()) = sym(")")(rest)?;
        i = rest;
        break;
    }
    let (i, options) = if at_kw(&i, "WITH") {
        and_list(i.next(), table_option)?
    } else {
        (i, Vec::new())
    };

    let mut table = CreateTable {
        name,
        if_not_exists,
        columns: Vec::new(),
        partition_key: Vec::new(),
        clustering_key: Vec::new(),
        clustering_order: Vec::new(),
        compact_storage: false,
        properties: Vec::new(),
    };
    let mut key_declarations = 0;
    for entry in entries {
        match entry {
            TableEntry::Column { def, primary_key } => {
                if primary_key {
                    key_declarations += 1;
                    table.partition_key = vec![def.name.clone()];
                }
                table.columns.push(def);
            }
            TableEntry::PrimaryKey { partition, clustering } => {
                key_declarations += 1;
                table.partition_key = partition;
                table.clustering_key = clustering;
            }
        }
    }
    // Cassandra's words (CreateTableStatement.Raw, "specifed" as spelt
    // there), with the table named as written; both are InvalidRequests.
    let table_name = table.name.unquoted();
    match key_declarations {
        1 => {}
        0 => return Err(open.refuse(format!("No PRIMARY KEY specifed for table '{table_name}' (exactly one required)"))),
        _ => {
            return Err(open.refuse(format!(
                "Multiple PRIMARY KEY specified for table '{table_name}' (exactly one required)"
            )))
        }
    }
    for option in options {
        match option {
            TableOption::ClusteringOrder(order) => table.clustering_order.extend(order),
            TableOption::CompactStorage => table.compact_storage = true,
            TableOption::Property(p) => table.properties.push(p),
        }
    }
    Ok((i, table))
}

fn table_entry(i: Tokens<'_>) -> PResult<'_, TableEntry> {
    if at_kw(&i, "PRIMARY") {
        let (i, ()) = kw("KEY")(i.next())?;
        let (i, ()) = sym("(")(i)?;
        let (i, partition) = if at_sym(&i, "(") {
            parenthesised(i, ident)?
        } else {
            ident(i).map(|(i, c)| (i, vec![c]))?
        };
        if partition.is_empty() {
            return Err(i.fail("the partition key needs at least one column".into()));
        }
        let (i, clustering) = if at_sym(&i, ",") {
            comma_list(i.next(), ident)?
        } else {
            (i, Vec::new())
        };
        let (i, ()) = sym(")")(i)?;
        return Ok((i, TableEntry::PrimaryKey { partition, clustering }));
    }
    let (i, name) = ident(i).inspect_err(|_| {
        i.expect_err("PRIMARY KEY");
    })?;
    let (i, ty) = cql_type(i)?;
    let (i, is_static) = if at_kw(&i, "STATIC") { (i.next(), true) } else { (i, false) };
    let (i, primary_key) = if at_kw(&i, "PRIMARY") {
        let (i, ()) = kw("KEY")(i.next())?;
        (i, true)
    } else {
        i.expect_err("STATIC");
        i.expect_err("PRIMARY KEY");
        (i, false)
    };
    Ok((
        i,
        TableEntry::Column {
            def: ColumnDef { name, ty, is_static },
            primary_key,
        },
    ))
}

fn table_option(i: Tokens<'_>) -> PResult<'_, TableOption> {
    if at_kw(&i, "CLUSTERING") && at_kw(&i.next(), "ORDER") {
        let (i, ()) = kw("BY")(i.next().next())?;
        let (i, order) = parenthesised(i, ordering)?;
        return Ok((i, TableOption::ClusteringOrder(order)));
    }
    if at_kw(&i, "COMPACT") && at_kw(&i.next(), "STORAGE") {
        return Ok((i.next().next(), TableOption::CompactStorage));
    }
    i.expect_err("CLUSTERING ORDER BY");
    i.expect_err("COMPACT STORAGE");
    let (i, p) = property(i)?;
    Ok((i, TableOption::Property(p)))
}

/// `name = value`
fn property(i: Tokens<'_>) -> PResult<'_, Property> {
    let (i, name) = ident(i)?;
    let (i, ()) = sym("=")(i)?;
    let (i, value) = term(i)?;
    Ok((i, Property { name, value }))
}

/// `ALTER KEYSPACE | TABLE ...`
pub(crate) fn alter(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("ALTER")(i)?;
    if at_kw(&i, "KEYSPACE") || at_kw(&i, "SCHEMA") {
        let (i, ()) = keyspace_keyword(i)?;
        let (i, if_exists) = if_exists(i)?;
        let (i, name) = ident(i)?;
        let (i, ()) = kw("WITH")(i)?;
        let (i, properties) = and_list(i, property)?;
        return Ok((
            i,
            Statement::AlterKeyspace(AlterKeyspace {
                name,
                if_exists,
                properties,
            }),
        ));
    }
    if !at_kw(&i, "COLUMNFAMILY") {
        i.expect_err("KEYSPACE");
    }
    let (i, ()) = table_keyword(i)?;
    let (i, if_exists) = if_exists(i)?;
    let (i, name) = qualified_name(i)?;
    let (i, action) = alter_table_action(i)?;
    Ok((i, Statement::AlterTable(AlterTable { name, if_exists, action })))
}

fn alter_table_action(i: Tokens<'_>) -> PResult<'_, AlterTableAction> {
    if at_kw(&i, "ADD") {
        let i = i.next();
        let (i, columns) = if at_sym(&i, "(") {
            let (i, ()) = sym("(")(i)?;
            let (i, columns) = comma_list(i, added_column)?;
            let (i, ()) = sym(")")(i)?;
            (i, columns)
        } else {
            added_column(i).map(|(i, c)| (i, vec![c]))?
        };
        return Ok((i, AlterTableAction::Add(columns)));
    }
    if at_kw(&i, "DROP") {
        let i = i.next();
        let (i, columns) = if at_sym(&i, "(") {
            let (i, ()) = sym("(")(i)?;
            let (i, columns) = comma_list(i, ident)?;
            let (i, ()) = sym(")")(i)?;
            (i, columns)
        } else {
            ident(i).map(|(i, c)| (i, vec![c]))?
        };
        return Ok((i, AlterTableAction::Drop(columns)));
    }
    if at_kw(&i, "RENAME") {
        let (i, renames) = and_list(i.next(), rename)?;
        return Ok((i, AlterTableAction::Rename(renames)));
    }
    if at_kw(&i, "ALTER") {
        let (i, column) = ident(i.next())?;
        let (i, ()) = kw("TYPE")(i)?;
        let (i, ty) = cql_type(i)?;
        return Ok((i, AlterTableAction::AlterType { column, ty }));
    }
    for word in ["ADD", "DROP", "RENAME", "ALTER"] {
        i.expect_err(word);
    }
    let (i, ()) = kw("WITH")(i)?;
    let (i, properties) = and_list(i, property)?;
    Ok((i, AlterTableAction::With(properties)))
}

fn added_column(i: Tokens<'_>) -> PResult<'_, ColumnDef> {
    let (i, name) = ident(i)?;
    let (i, ty) = cql_type(i)?;
    let (i, is_static) = if at_kw(&i, "STATIC") { (i.next(), true) } else { (i, false) };
    Ok((i, ColumnDef { name, ty, is_static }))
}

fn rename(i: Tokens<'_>) -> PResult<'_, (String, String)> {
    let (i, from) = ident(i)?;
    let (i, ()) = kw("TO")(i)?;
    let (i, to) = ident(i)?;
    Ok((i, (from, to)))
}

/// `DROP KEYSPACE | TABLE | TYPE [IF EXISTS] name`
pub(crate) fn drop(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("DROP")(i)?;
    if at_kw(&i, "KEYSPACE") || at_kw(&i, "SCHEMA") {
        let (i, ()) = keyspace_keyword(i)?;
        let (i, if_exists) = if_exists(i)?;
        let (i, name) = ident(i)?;
        return Ok((i, Statement::DropKeyspace(DropKeyspace { name, if_exists })));
    }
    if at_kw(&i, "TYPE") {
        let (i, if_exists) = if_exists(i.next())?;
        let (i, name) = qualified_name(i)?;
        return Ok((i, Statement::DropType(DropType { name, if_exists })));
    }
    if at_kw(&i, "INDEX") {
        let (i, if_exists) = if_exists(i.next())?;
        let (i, name) = qualified_name(i)?;
        return Ok((i, Statement::DropIndex(DropIndex { name, if_exists })));
    }
    if !at_kw(&i, "COLUMNFAMILY") {
        i.expect_err("KEYSPACE");
        i.expect_err("TYPE");
        i.expect_err("INDEX");
    }
    let (i, ()) = table_keyword(i)?;
    let (i, if_exists) = if_exists(i)?;
    let (i, name) = qualified_name(i)?;
    Ok((i, Statement::DropTable(DropTable { name, if_exists })))
}

/// `TRUNCATE [TABLE] name`
pub(crate) fn truncate(i: Tokens<'_>) -> PResult<'_, Truncate> {
    let (i, ()) = kw("TRUNCATE")(i)?;
    let i = if at_kw(&i, "TABLE") || at_kw(&i, "COLUMNFAMILY") {
        i.next()
    } else {
        i
    };
    let (i, name): (Tokens<'_>, QualifiedName) = qualified_name(i)?;
    Ok((i, Truncate { name }))
}
