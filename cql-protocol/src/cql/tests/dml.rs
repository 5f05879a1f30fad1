//! INSERT, UPDATE, DELETE, BATCH and the literal forms their values take.

use super::*;

fn insert(text: &str) -> Insert {
    match parse(text) {
        Statement::Insert(s) => s,
        other => panic!("not an insert: {other:?}"),
    }
}

fn update(text: &str) -> Update {
    match parse(text) {
        Statement::Update(s) => s,
        other => panic!("not an update: {other:?}"),
    }
}

fn delete(text: &str) -> Delete {
    match parse(text) {
        Statement::Delete(s) => s,
        other => panic!("not a delete: {other:?}"),
    }
}

fn values(text: &str) -> Vec<Term> {
    insert(&format!("INSERT INTO t (a) VALUES ({text})")).values
}

#[test]
fn insert_with_values_if_not_exists_and_using() {
    let s = insert("INSERT INTO ks.t (a, b) VALUES (1, 'x') IF NOT EXISTS USING TTL 10 AND TIMESTAMP 123");
    assert_eq!(s.table, qn(Some("ks"), "t"));
    assert_eq!(s.columns, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.values, vec![int("1"), text("x")]);
    assert!(s.if_not_exists);
    assert_eq!(
        s.using,
        Using {
            ttl: Some(int("10")),
            timestamp: Some(int("123"))
        }
    );
    assert_eq!(s.json, None);
}

#[test]
fn insert_json_keeps_the_document_as_a_string_term() {
    let s = insert(r#"INSERT INTO t JSON '{"a": 1, "b": "it''s"}' DEFAULT NULL"#);
    assert_eq!(s.json, Some(text(r#"{"a": 1, "b": "it's"}"#)));
    assert!(s.columns.is_empty() && s.values.is_empty() && !s.json_default_unset);
    let unset = insert(r#"INSERT INTO t JSON '{"a": 1}' DEFAULT UNSET IF NOT EXISTS"#);
    assert!(unset.json_default_unset && unset.if_not_exists);
    assert_eq!(unset.to_string(), r#"INSERT INTO t JSON '{"a": 1}' DEFAULT UNSET IF NOT EXISTS"#);
}

#[test]
fn literals_of_every_kind_parse_to_their_terms() {
    let got = values(
        "'a''b', $$x'y$$, -12, 1.5, -2e3, NaN, Infinity, -Infinity, \
         123e4567-e89b-12d3-a456-426614174000, 0xCAFE, TRUE, False, NULL",
    );
    let expected = vec![
        text("a'b"),
        text("x'y"),
        int("-12"),
        Term::Float("1.5".into()),
        Term::Float("-2e3".into()),
        Term::Float("NaN".into()),
        Term::Float("Infinity".into()),
        Term::Float("-Infinity".into()),
        Term::Uuid(uuid::Uuid::parse_str("123e4567-e89b-12d3-a456-426614174000").unwrap()),
        Term::Blob(vec![0xca, 0xfe]),
        Term::Boolean(true),
        Term::Boolean(false),
        Term::Null,
    ];
    assert_eq!(got, expected);
}

#[test]
fn durations_parse_in_unit_and_iso_forms() {
    let got = values("1h30m, 1y2mo, 3d, 100ms, 1us, 2ns, 5µs, -1h, P1DT2H, P2W");
    let expected: Vec<Term> = ["1h30m", "1y2mo", "3d", "100ms", "1us", "2ns", "5µs", "-1h", "P1DT2H", "P2W"]
        .into_iter()
        .map(|d| Term::Duration(d.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn collections_tuples_user_types_functions_and_casts_parse() {
    let got = values("[1, 2], {1, 2}, {'k': 'v'}, {}, (1, 'a'), {f: 1, \"G\": 'x'}, now(), toTimestamp(now()), (int) ?, []");
    let expected = vec![
        Term::List(vec![int("1"), int("2")]),
        Term::Set(vec![int("1"), int("2")]),
        Term::Map(vec![(text("k"), text("v"))]),
        Term::Map(vec![]),
        Term::Tuple(vec![int("1"), text("a")]),
        Term::UserType(vec![("f".into(), int("1")), ("G".into(), text("x"))]),
        Term::FunctionCall {
            name: "now".into(),
            args: vec![],
        },
        Term::FunctionCall {
            name: "totimestamp".into(),
            args: vec![Term::FunctionCall {
                name: "now".into(),
                args: vec![],
            }],
        },
        Term::Cast(native(NativeType::Int), Box::new(bind(0))),
        Term::List(vec![]),
    ];
    assert_eq!(got, expected);
}

#[test]
fn update_covers_every_assignment_form() {
    let s = update(
        "UPDATE t USING TTL ? AND TIMESTAMP ? SET a = 1, l = l + [1], l = [0] + l, s = s - {1}, m['k'] = 'v', \
         m = m + {'k': 'v'}, c = c + 1, c += 1, c -= 1, u.f = 3 WHERE k = ?",
    );
    assert_eq!(
        s.using,
        Using {
            ttl: Some(bind(0)),
            timestamp: Some(bind(1))
        }
    );
    let c = |s: &str| s.to_string();
    let expected = vec![
        Assignment::Set {
            column: c("a"),
            value: int("1"),
        },
        Assignment::Add {
            column: c("l"),
            value: Term::List(vec![int("1")]),
        },
        Assignment::Prepend {
            column: c("l"),
            value: Term::List(vec![int("0")]),
        },
        Assignment::Remove {
            column: c("s"),
            value: Term::Set(vec![int("1")]),
        },
        Assignment::SetElement {
            column: c("m"),
            key: text("k"),
            value: text("v"),
        },
        Assignment::Add {
            column: c("m"),
            value: Term::Map(vec![(text("k"), text("v"))]),
        },
        Assignment::Add {
            column: c("c"),
            value: int("1"),
        },
        Assignment::Add {
            column: c("c"),
            value: int("1"),
        },
        Assignment::Remove {
            column: c("c"),
            value: int("1"),
        },
        Assignment::SetField {
            column: c("u"),
            field: c("f"),
            value: int("3"),
        },
    ];
    assert_eq!(s.assignments, expected);
    assert_eq!(s.where_clause, vec![rel("k", Operator::Eq, bind(2))]);
}

#[test]
fn update_conditions_and_if_exists() {
    let s = update("UPDATE t SET a = 2 WHERE k = 1 IF a = 1 AND m['k'] = 'v' AND b IN (1, 2)");
    assert!(!s.if_exists);
    assert_eq!(
        s.conditions,
        vec![
            Condition {
                column: "a".into(),
                element: None,
                op: Operator::Eq,
                value: int("1")
            },
            Condition {
                column: "m".into(),
                element: Some(text("k")),
                op: Operator::Eq,
                value: text("v")
            },
            Condition {
                column: "b".into(),
                element: None,
                op: Operator::In,
                value: Term::Tuple(vec![int("1"), int("2")])
            },
        ]
    );
    let s = update("UPDATE t SET a = 2 WHERE k = 1 IF EXISTS");
    assert!(s.if_exists);
    assert!(s.conditions.is_empty());
}

#[test]
fn update_rejects_arithmetic_on_another_column() {
    let err = parse_statement("UPDATE t SET a = b + 1 WHERE k = 1").unwrap_err();
    assert!(err.message.contains("a = a + <value>"), "{err}");
}

#[test]
fn delete_with_targets_timestamp_and_conditions() {
    let s = delete("DELETE a, m['k'], u.f FROM t USING TIMESTAMP 1 WHERE k = 1 IF EXISTS");
    assert_eq!(
        s.targets,
        vec![
            DeleteTarget::Column("a".into()),
            DeleteTarget::Element {
                column: "m".into(),
                key: text("k")
            },
            DeleteTarget::Field {
                column: "u".into(),
                field: "f".into()
            },
        ]
    );
    assert_eq!(s.timestamp, Some(int("1")));
    assert!(s.if_exists);
    let s = delete("DELETE FROM t WHERE k = ? IF a = ?");
    assert!(s.targets.is_empty());
    assert_eq!(s.where_clause, vec![rel("k", Operator::Eq, bind(0))]);
    assert_eq!(
        s.conditions,
        vec![Condition {
            column: "a".into(),
            element: None,
            op: Operator::Eq,
            value: bind(1)
        }]
    );
}

#[test]
fn batches_number_bind_markers_across_their_statements() {
    let Statement::Batch(b) = parse(
        "BEGIN UNLOGGED BATCH USING TIMESTAMP ? INSERT INTO t (a) VALUES (?); UPDATE t SET a = ? WHERE k = ?; \
         DELETE FROM t WHERE k = ? APPLY BATCH;",
    ) else {
        panic!("not a batch")
    };
    assert_eq!(b.kind, BatchKind::Unlogged);
    assert_eq!(b.using.timestamp, Some(bind(0)));
    assert_eq!(b.statements.len(), 3);
    let BatchStatement::Delete(d) = &b.statements[2] else {
        panic!("not a delete")
    };
    assert_eq!(d.where_clause, vec![rel("k", Operator::Eq, bind(4))]);
}

#[test]
fn an_empty_batch_and_a_counter_batch_parse() {
    assert_eq!(
        parse("BEGIN BATCH APPLY BATCH"),
        Statement::Batch(Batch {
            kind: BatchKind::Logged,
            using: Using::default(),
            statements: vec![]
        })
    );
    let Statement::Batch(b) = parse("begin counter batch update t set c = c + 1 where k = 1 apply batch") else {
        panic!("not a batch")
    };
    assert_eq!(b.kind, BatchKind::Counter);
}

#[test]
fn a_script_splits_on_semicolons_and_numbers_markers_per_statement() {
    let statements = crate::cql::parse_statements(
        "USE ks; INSERT INTO t (a) VALUES (?);; BEGIN BATCH INSERT INTO t (a) VALUES (1); APPLY BATCH; SELECT * FROM t WHERE a = ?",
    )
    .unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(statements[0], Statement::Use("ks".into()));
    let Statement::Select(s) = &statements[3] else {
        panic!("not a select")
    };
    assert_eq!(s.where_clause, vec![rel("a", Operator::Eq, bind(0))]);
    assert_eq!(crate::cql::parse_statements(" ; -- nothing\n").unwrap(), vec![]);
}
