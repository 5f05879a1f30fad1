//! Schema statements, USE and DESCRIBE.

use super::*;

fn prop(name: &str, value: Term) -> Property {
    Property {
        name: name.to_string(),
        value,
    }
}

fn col(name: &str, ty: CqlType) -> ColumnDef {
    ColumnDef {
        name: name.to_string(),
        ty,
        is_static: false,
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn create_keyspace_with_replication_and_durable_writes() {
    let s = parse(
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} \
         AND durable_writes = false",
    );
    let expected = CreateKeyspace {
        name: "ks".into(),
        if_not_exists: true,
        properties: vec![
            prop(
                "replication",
                Term::Map(vec![
                    (text("class"), text("SimpleStrategy")),
                    (text("replication_factor"), int("3")),
                ]),
            ),
            prop("durable_writes", Term::Boolean(false)),
        ],
    };
    assert_eq!(s, Statement::CreateKeyspace(expected));
}

#[test]
fn alter_and_drop_keyspace() {
    let s = parse("ALTER KEYSPACE \"Ks\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}");
    let Statement::AlterKeyspace(a) = s else {
        panic!("not alter keyspace")
    };
    assert_eq!(a.name, "Ks");
    assert_eq!(a.properties.len(), 1);
    assert_eq!(
        parse("DROP KEYSPACE IF EXISTS ks"),
        Statement::DropKeyspace(DropKeyspace {
            name: "ks".into(),
            if_exists: true
        })
    );
}

#[test]
fn create_table_with_compound_key_static_column_and_options() {
    let s = parse(
        "CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c list<int>, d frozen<map<text, set<int>>>, e my_udt, \
         f frozen<tuple<int, text>>, s int STATIC, PRIMARY KEY ((a, b), c, d)) \
         WITH CLUSTERING ORDER BY (c DESC, d ASC) AND comment = 'x' AND default_time_to_live = 0 \
         AND gc_grace_seconds = 864000 AND compaction = {'class': 'SizeTieredCompactionStrategy'} \
         AND compression = {'chunk_length_in_kb': 64, 'class': 'LZ4Compressor'} AND COMPACT STORAGE",
    );
    let Statement::CreateTable(t) = s else { panic!("not create table") };
    assert_eq!(t.name, qn(Some("ks"), "t"));
    assert!(t.if_not_exists && t.compact_storage);
    let int_t = || native(NativeType::Int);
    let expected_columns = vec![
        col("a", int_t()),
        col("b", native(NativeType::Text)),
        col("c", CqlType::List(Box::new(int_t()))),
        col(
            "d",
            CqlType::Frozen(Box::new(CqlType::Map(
                Box::new(native(NativeType::Text)),
                Box::new(CqlType::Set(Box::new(int_t()))),
            ))),
        ),
        col("e", CqlType::UserDefined(qn(None, "my_udt"))),
        col(
            "f",
            CqlType::Frozen(Box::new(CqlType::Tuple(vec![int_t(), native(NativeType::Text)]))),
        ),
        ColumnDef {
            name: "s".into(),
            ty: int_t(),
            is_static: true,
        },
    ];
    assert_eq!(t.columns, expected_columns);
    assert_eq!(t.partition_key, strings(&["a", "b"]));
    assert_eq!(t.clustering_key, strings(&["c", "d"]));
    assert_eq!(
        t.clustering_order,
        vec![("c".to_string(), Order::Desc), ("d".to_string(), Order::Asc)]
    );
    let names: Vec<&str> = t.properties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["comment", "default_time_to_live", "gc_grace_seconds", "compaction", "compression"]
    );
}

#[test]
fn primary_keys_inline_single_and_simple_compound() {
    let key_of = |text: &str| match parse(text) {
        Statement::CreateTable(t) => (t.partition_key, t.clustering_key),
        other => panic!("{other:?}"),
    };
    assert_eq!(key_of("CREATE TABLE t (a int PRIMARY KEY, b text)"), (strings(&["a"]), vec![]));
    assert_eq!(key_of("CREATE TABLE t (a int, b text, PRIMARY KEY (a))"), (strings(&["a"]), vec![]));
    assert_eq!(
        key_of("CREATE TABLE t (a int, c int, PRIMARY KEY (a, c),)"),
        (strings(&["a"]), strings(&["c"]))
    );
}

#[test]
fn create_table_needs_exactly_one_primary_key_and_refuses_as_cassandra_does() {
    let err = parse_statement("CREATE TABLE ks.t (a int, b int)").unwrap_err();
    assert_eq!(err.message, "No PRIMARY KEY specifed for table 'ks.t' (exactly one required)");
    assert!(err.invalid, "an InvalidRequest, not a syntax error");
    let err = parse_statement("CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))").unwrap_err();
    assert_eq!(err.message, "Multiple PRIMARY KEY specified for table 't' (exactly one required)");
    assert!(err.invalid, "an InvalidRequest, not a syntax error");
    assert!(!parse_statement("CREATE TABLE t (a int PRIMARY KEY").unwrap_err().invalid);
}

#[test]
fn a_cassandra_4_describe_dump_reparses() {
    let s = parse(
        "CREATE TABLE ks.t (
            a int,
            c text,
            v map<text, int>,
            PRIMARY KEY (a, c)
        ) WITH CLUSTERING ORDER BY (c ASC)
            AND additional_write_policy = '99p'
            AND bloom_filter_fp_chance = 0.01
            AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
            AND cdc = false
            AND comment = ''
            AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
            AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
            AND memtable = 'default'
            AND crc_check_chance = 1.0
            AND default_time_to_live = 0
            AND extensions = {}
            AND gc_grace_seconds = 864000
            AND max_index_interval = 2048
            AND memtable_flush_period_in_ms = 0
            AND min_index_interval = 128
            AND read_repair = 'BLOCKING'
            AND speculative_retry = '99p';",
    );
    let Statement::CreateTable(t) = s else { panic!("not create table") };
    assert_eq!(t.properties.len(), 17);
    assert_eq!(t.properties[1], prop("bloom_filter_fp_chance", Term::Float("0.01".into())));
    assert_eq!(t.properties[10], prop("extensions", Term::Map(vec![])));
}

#[test]
fn alter_table_actions() {
    let action = |text: &str| match parse(text) {
        Statement::AlterTable(a) => a.action,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        action("ALTER TABLE t ADD c int"),
        AlterTableAction::Add(vec![col("c", native(NativeType::Int))])
    );
    assert_eq!(
        action("ALTER TABLE t ADD (c int, d text)"),
        AlterTableAction::Add(vec![col("c", native(NativeType::Int)), col("d", native(NativeType::Text))])
    );
    assert_eq!(action("ALTER TABLE t DROP c"), AlterTableAction::Drop(strings(&["c"])));
    assert_eq!(action("ALTER TABLE t DROP (c, d)"), AlterTableAction::Drop(strings(&["c", "d"])));
    assert_eq!(
        action("ALTER TABLE t RENAME a TO b AND c TO d"),
        AlterTableAction::Rename(vec![("a".into(), "b".into()), ("c".into(), "d".into())])
    );
    assert_eq!(
        action("ALTER TABLE t ALTER c TYPE blob"),
        AlterTableAction::AlterType {
            column: "c".into(),
            ty: native(NativeType::Blob)
        }
    );
    assert_eq!(
        action("ALTER TABLE ks.t WITH comment = 'hi' AND gc_grace_seconds = 10"),
        AlterTableAction::With(vec![prop("comment", text("hi")), prop("gc_grace_seconds", int("10"))])
    );
}

#[test]
fn drop_and_truncate_tables() {
    assert_eq!(
        parse("DROP TABLE IF EXISTS ks.t"),
        Statement::DropTable(DropTable {
            name: qn(Some("ks"), "t"),
            if_exists: true
        })
    );
    assert_eq!(parse("TRUNCATE t"), Statement::Truncate(Truncate { name: qn(None, "t") }));
    assert_eq!(
        parse("TRUNCATE TABLE ks.t"),
        Statement::Truncate(Truncate { name: qn(Some("ks"), "t") })
    );
}

#[test]
fn create_and_drop_types() {
    assert_eq!(
        parse("CREATE TYPE IF NOT EXISTS ks.address (street text, zip int)"),
        Statement::CreateType(CreateType {
            name: qn(Some("ks"), "address"),
            if_not_exists: true,
            fields: vec![("street".into(), native(NativeType::Text)), ("zip".into(), native(NativeType::Int))],
        })
    );
    assert_eq!(
        parse("DROP TYPE IF EXISTS address"),
        Statement::DropType(DropType {
            name: qn(None, "address"),
            if_exists: true
        })
    );
}

#[test]
fn use_lowers_bare_names_and_keeps_quoted_ones() {
    assert_eq!(parse("USE ks"), Statement::Use("ks".into()));
    assert_eq!(parse("use \"Ks\""), Statement::Use("Ks".into()));
}

#[test]
fn describe_forms() {
    let d = |text: &str| match parse(text) {
        Statement::Describe(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d("DESCRIBE CLUSTER"), Describe::Cluster);
    assert_eq!(d("DESC KEYSPACES"), Describe::Keyspaces);
    assert_eq!(
        d("DESCRIBE ONLY KEYSPACE ks"),
        Describe::Keyspace {
            name: Some("ks".into()),
            only: true
        }
    );
    assert_eq!(d("DESCRIBE KEYSPACE"), Describe::Keyspace { name: None, only: false });
    assert_eq!(d("DESCRIBE TABLES"), Describe::Tables);
    assert_eq!(d("DESCRIBE TABLE ks.t"), Describe::Table(qn(Some("ks"), "t")));
    assert_eq!(d("DESCRIBE TYPES"), Describe::Types);
    assert_eq!(d("DESCRIBE TYPE ks.a"), Describe::Type(qn(Some("ks"), "a")));
    assert_eq!(d("DESCRIBE INDEX ks.t_v_idx"), Describe::Index(qn(Some("ks"), "t_v_idx")));
    assert_eq!(d("DESCRIBE FUNCTIONS"), Describe::Functions);
    assert_eq!(d("DESCRIBE AGGREGATES"), Describe::Aggregates);
    assert_eq!(d("DESCRIBE FULL SCHEMA"), Describe::Schema { full: true });
    assert_eq!(d("DESCRIBE SCHEMA;"), Describe::Schema { full: false });
    assert_eq!(d("DESCRIBE ks"), Describe::Name(qn(None, "ks")));
    assert_eq!(d("DESCRIBE ks.t"), Describe::Name(qn(Some("ks"), "t")));
    assert_eq!(d("DESCRIBE tables.t"), Describe::Name(qn(Some("tables"), "t")));
}

#[test]
fn a_schema_type_string_parses_back_to_its_type() {
    use crate::cql::ast::{CqlType, NativeType};
    use crate::cql::parse_type;
    assert_eq!(
        parse_type("frozen<map<text, list<int>>>").unwrap(),
        CqlType::Frozen(Box::new(CqlType::Map(
            Box::new(CqlType::Native(NativeType::Text)),
            Box::new(CqlType::List(Box::new(CqlType::Native(NativeType::Int))))
        )))
    );
    assert!(parse_type("map<text").is_err());
}

#[test]
fn nodetool_operations_parse_and_print_back() {
    use crate::cql::ast::NodeTool;
    assert_eq!(
        parse("NODETOOL DECOMMISSION"),
        Statement::NodeTool(NodeTool::Decommission { force: false })
    );
    let forced = parse("NODETOOL DECOMMISSION FORCE");
    assert_eq!(forced, Statement::NodeTool(NodeTool::Decommission { force: true }));
    assert_eq!(forced.to_string(), "NODETOOL DECOMMISSION FORCE");
    assert_eq!(parse("nodetool cleanup;"), Statement::NodeTool(NodeTool::Cleanup));
    let id = "6a1b0000-0000-4000-8000-000000000001";
    let remove = parse(&format!("NODETOOL REMOVENODE {id}"));
    assert_eq!(remove, Statement::NodeTool(NodeTool::RemoveNode(id.into())));
    assert_eq!(parse(&format!("NODETOOL REMOVENODE '{id}'")), remove);
    assert_eq!(remove.to_string(), format!("NODETOOL REMOVENODE {id}"));
    assert!(crate::cql::parse_statement("NODETOOL REMOVENODE").is_err());
    assert!(crate::cql::parse_statement("NODETOOL FLY").is_err());
}

#[test]
fn trace_probability_statements_parse_and_print_back() {
    use crate::cql::ast::NodeTool;
    let set = parse("NODETOOL SETTRACEPROBABILITY 0.25");
    assert_eq!(set, Statement::NodeTool(NodeTool::SetTraceProbability("0.25".into())));
    assert_eq!(set.to_string(), "NODETOOL SETTRACEPROBABILITY 0.25");
    assert_eq!(
        parse("nodetool settraceprobability 1"),
        Statement::NodeTool(NodeTool::SetTraceProbability("1".into()))
    );
    let get = parse("NODETOOL GETTRACEPROBABILITY");
    assert_eq!(get, Statement::NodeTool(NodeTool::GetTraceProbability));
    assert_eq!(get.to_string(), "NODETOOL GETTRACEPROBABILITY");
    assert!(crate::cql::parse_statement("NODETOOL SETTRACEPROBABILITY").is_err());
    assert!(crate::cql::parse_statement("NODETOOL SETTRACEPROBABILITY 'half'").is_err());
}

#[test]
fn nodetool_repair_takes_a_keyspace_a_table_and_token_bounds() {
    use crate::cql::ast::{NodeTool, RepairOptions};
    assert_eq!(
        parse("NODETOOL REPAIR"),
        Statement::NodeTool(NodeTool::Repair(RepairOptions::default()))
    );
    let full = parse("nodetool repair aviation flights full primary start -9223372036854775808 end 42");
    let expected = RepairOptions {
        keyspace: Some("aviation".into()),
        table: Some("flights".into()),
        full: true,
        primary_range: true,
        start_token: Some(i64::MIN),
        end_token: Some(42),
    };
    assert_eq!(full, Statement::NodeTool(NodeTool::Repair(expected)));
    assert_eq!(parse(&full.to_string()), full, "{full}");
    assert_eq!(
        parse("NODETOOL REPAIR ks END 7"),
        Statement::NodeTool(NodeTool::Repair(RepairOptions {
            keyspace: Some("ks".into()),
            end_token: Some(7),
            ..RepairOptions::default()
        }))
    );
    assert_eq!(
        parse("NODETOOL REPAIR ks INCREMENTAL PRIMARY"),
        Statement::NodeTool(NodeTool::Repair(RepairOptions {
            keyspace: Some("ks".into()),
            primary_range: true,
            ..RepairOptions::default()
        })),
        "incremental is the default, and may be said"
    );
    assert_eq!(parse("NODETOOL REPAIR FULL").to_string(), "NODETOOL REPAIR FULL");
    assert_eq!(parse("NODETOOL REPAIR \"full\"").to_string(), "NODETOOL REPAIR \"full\"");
    let odd = parse("NODETOOL REPAIR \"start\" \"My Table\"");
    assert_eq!(odd.to_string(), "NODETOOL REPAIR \"start\" \"My Table\"");
    assert_eq!(parse(&odd.to_string()), odd);
    assert!(crate::cql::parse_statement("NODETOOL REPAIR ks START").is_err());
    assert!(crate::cql::parse_statement("NODETOOL REPAIR ks START 9223372036854775808").is_err());
}

#[test]
fn create_and_drop_indexes_with_every_target_kind() {
    assert_eq!(
        parse("CREATE INDEX IF NOT EXISTS by_v ON ks.t (v)"),
        Statement::CreateIndex(CreateIndex {
            name: Some("by_v".into()),
            table: qn(Some("ks"), "t"),
            if_not_exists: true,
            kind: IndexTargetKind::Simple,
            column: "v".into(),
        })
    );
    for (text, kind) in [
        ("values", IndexTargetKind::Values),
        ("KEYS", IndexTargetKind::Keys),
        ("entries", IndexTargetKind::Entries),
        ("full", IndexTargetKind::Full),
    ] {
        assert_eq!(
            parse(&format!("CREATE INDEX ON t ({text}(m))")),
            Statement::CreateIndex(CreateIndex {
                name: None,
                table: qn(None, "t"),
                if_not_exists: false,
                kind,
                column: "m".into(),
            })
        );
    }
    assert_eq!(
        parse("CREATE INDEX ON t (keys)"),
        Statement::CreateIndex(CreateIndex {
            name: None,
            table: qn(None, "t"),
            if_not_exists: false,
            kind: IndexTargetKind::Simple,
            column: "keys".into(),
        }),
        "a column may be called keys"
    );
    assert_eq!(
        parse("DROP INDEX IF EXISTS ks.by_v"),
        Statement::DropIndex(DropIndex {
            name: qn(Some("ks"), "by_v"),
            if_exists: true
        })
    );
}
