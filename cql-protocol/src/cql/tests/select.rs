//! SELECT statements, including the ones drivers send when they connect.

use super::*;

fn select(text: &str) -> Select {
    match parse(text) {
        Statement::Select(s) => s,
        other => panic!("not a select: {other:?}"),
    }
}

fn columns(names: &[&str]) -> Selection {
    Selection::Selectors(
        names
            .iter()
            .map(|n| Selector {
                expr: SelectorExpr::Column(n.to_string()),
                alias: None,
            })
            .collect(),
    )
}

#[test]
fn select_star_from_system_local_where_key_is_local() {
    let s = select("SELECT * FROM system.local WHERE key='local'");
    assert_eq!(s.table, qn(Some("system"), "local"));
    assert_eq!(s.selection, Selection::Wildcard);
    assert_eq!(s.where_clause, vec![rel("key", Operator::Eq, text("local"))]);
}

#[test]
fn driver_connect_queries_parse_with_keyword_like_column_names() {
    let s = select("SELECT peer, data_center, rack, tokens, rpc_address, schema_version FROM system.peers");
    assert_eq!(
        s.selection,
        columns(&["peer", "data_center", "rack", "tokens", "rpc_address", "schema_version"])
    );
    let s = select(
        "SELECT keyspace_name, table_name, column_name, clustering_order, column_name_bytes, kind, position, type FROM system_schema.columns",
    );
    assert_eq!(
        s.selection,
        columns(&[
            "keyspace_name",
            "table_name",
            "column_name",
            "clustering_order",
            "column_name_bytes",
            "kind",
            "position",
            "type"
        ])
    );
    let s = select("SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'");
    assert_eq!(
        s.where_clause,
        vec![
            rel("keyspace_name", Operator::Eq, text("ks")),
            rel("table_name", Operator::Eq, text("t"))
        ]
    );
    let s = select("SELECT cluster_name, release_version FROM system.local");
    assert_eq!(s.selection, columns(&["cluster_name", "release_version"]));
    let s = select("select key, type, ttl, writetime, count, values, json, distinct, options, durable_writes from t");
    assert_eq!(
        s.selection,
        columns(&[
            "key",
            "type",
            "ttl",
            "writetime",
            "count",
            "values",
            "json",
            "distinct",
            "options",
            "durable_writes"
        ])
    );
    assert!(!s.json && !s.distinct);
}

#[test]
fn select_json_distinct_with_every_tail_clause() {
    let s = select(
        "SELECT JSON DISTINCT a AS x FROM ks.t WHERE a = ? GROUP BY a, b ORDER BY c DESC, d PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING",
    );
    assert!(s.json && s.distinct && s.allow_filtering);
    assert_eq!(
        s.selection,
        Selection::Selectors(vec![Selector {
            expr: SelectorExpr::Column("a".into()),
            alias: Some("x".into())
        }])
    );
    assert_eq!(s.where_clause, vec![rel("a", Operator::Eq, bind(0))]);
    assert_eq!(s.group_by, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.order_by, vec![("c".to_string(), Order::Desc), ("d".to_string(), Order::Asc)]);
    assert_eq!(s.per_partition_limit, Some(int("2")));
    assert_eq!(s.limit, Some(bind(1)));
}

#[test]
fn selectors_cover_counts_metadata_functions_casts_and_literals() {
    let s = select(
        "SELECT count(*), COUNT(1), count(c), writetime(c), TTL(c), token(a, b), toJson(c), max(c), \
         f(g(c), 1), CAST(c AS text), u.f.g, 'lit', now() FROM t",
    );
    let col = |c: &str| SelectorExpr::Column(c.to_string());
    let func = |name: &str, args: Vec<SelectorExpr>| SelectorExpr::Function {
        name: name.to_string(),
        args,
    };
    let expected = vec![
        SelectorExpr::CountAll,
        SelectorExpr::CountAll,
        func("count", vec![col("c")]),
        SelectorExpr::WriteTime("c".into()),
        SelectorExpr::Ttl("c".into()),
        func("token", vec![col("a"), col("b")]),
        func("tojson", vec![col("c")]),
        func("max", vec![col("c")]),
        func("f", vec![func("g", vec![col("c")]), SelectorExpr::Term(int("1"))]),
        SelectorExpr::Cast(Box::new(col("c")), native(NativeType::Text)),
        SelectorExpr::Field(Box::new(SelectorExpr::Field(Box::new(col("u")), "f".into())), "g".into()),
        SelectorExpr::Term(text("lit")),
        func("now", vec![]),
    ];
    let Selection::Selectors(got) = s.selection else {
        panic!("wildcard")
    };
    assert_eq!(got.into_iter().map(|s| s.expr).collect::<Vec<_>>(), expected);
}

#[test]
fn relations_cover_every_operator_and_target() {
    let s = select(
        "SELECT * FROM t WHERE a IN (1, 2) AND b IN ? AND c > 1 AND c <= 5 AND (c, d) > (1, 2) \
         AND (c, d) IN ((1, 2), (3, 4)) AND token(a, b) > ? AND token(a) <= token(5) AND a != 1 \
         AND l CONTAINS 1 AND m CONTAINS KEY 'k' AND n LIKE 'x%' AND e IN ()",
    );
    let tuple = |cols: &[&str]| RelationTarget::Tuple(cols.iter().map(|c| c.to_string()).collect());
    let token = |cols: &[&str]| RelationTarget::Token(cols.iter().map(|c| c.to_string()).collect());
    let pair = |a: &str, b: &str| Term::Tuple(vec![int(a), int(b)]);
    let expected = vec![
        rel("a", Operator::In, Term::Tuple(vec![int("1"), int("2")])),
        rel("b", Operator::In, bind(0)),
        rel("c", Operator::Gt, int("1")),
        rel("c", Operator::Lte, int("5")),
        Relation {
            target: tuple(&["c", "d"]),
            op: Operator::Gt,
            value: pair("1", "2"),
        },
        Relation {
            target: tuple(&["c", "d"]),
            op: Operator::In,
            value: Term::Tuple(vec![pair("1", "2"), pair("3", "4")]),
        },
        Relation {
            target: token(&["a", "b"]),
            op: Operator::Gt,
            value: bind(1),
        },
        Relation {
            target: token(&["a"]),
            op: Operator::Lte,
            value: Term::FunctionCall {
                name: "token".into(),
                args: vec![int("5")],
            },
        },
        rel("a", Operator::Neq, int("1")),
        rel("l", Operator::Contains, int("1")),
        rel("m", Operator::ContainsKey, text("k")),
        rel("n", Operator::Like, text("x%")),
        rel("e", Operator::In, Term::Tuple(vec![])),
    ];
    assert_eq!(s.where_clause, expected);
}

#[test]
fn quoted_identifiers_keep_case_and_unquoted_ones_are_lowered() {
    let s = select(r#"SELECT "MyCol", Other FROM "Ks"."Tab""le""#);
    assert_eq!(s.selection, columns(&["MyCol", "other"]));
    assert_eq!(s.table, qn(Some("Ks"), "Tab\"le"));
}

#[test]
fn named_bind_markers_are_numbered_with_anonymous_ones() {
    let s = select("SELECT * FROM t WHERE a = :first AND b = ? AND c = :\"Third\" LIMIT ?");
    assert_eq!(
        s.where_clause,
        vec![
            rel(
                "a",
                Operator::Eq,
                Term::Bind {
                    index: 0,
                    name: Some("first".into())
                }
            ),
            rel("b", Operator::Eq, bind(1)),
            rel(
                "c",
                Operator::Eq,
                Term::Bind {
                    index: 2,
                    name: Some("Third".into())
                }
            ),
        ]
    );
    assert_eq!(s.limit, Some(bind(3)));
}

#[test]
fn comments_and_a_trailing_semicolon_are_allowed() {
    let s = select("-- leading\n/* block */ SELECT a // trailing\nFROM t ; ");
    assert_eq!(s.selection, columns(&["a"]));
}
