//! Property tests: the parser never panics on any input, and randomly generated
//! statements of the common shapes print and parse back to the same AST.

use proptest::prelude::*;

use super::roundtrip::CORPUS;
use super::*;
use crate::cql::parse_statements;

// ------------------------------------------------------------ never panic

/// One edit of a statement's characters.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

fn cql_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::sample::select(
            "()[]{},;.:=<>!+-*?'\"$/0123456789abcxyzAEFPT_ \n\tµ".chars().collect::<Vec<_>>()
        ),
        1 => any::<char>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), cql_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), cql_char()).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let len = chars.len();
        match *e {
            Edit::Insert(at, c) => chars.insert(at % (len + 1), c),
            Edit::Delete(at) if len > 0 => {
                chars.remove(at % len);
            }
            Edit::Replace(at, c) if len > 0 => chars[at % len] = c,
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Failures are reported, not written to files outside this module.
/// `PROPTEST_CASES` still overrides the case count for longer runs.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_strings_never_panic(text in any::<String>()) {
        let _ = parse_statement(&text);
        let _ = parse_statements(&text);
    }

    #[test]
    fn random_cql_like_strings_never_panic(text in "[a-zA-Z0-9 '\"(),;.*=<>!?:{}\\[\\]$/+-]{0,80}") {
        let _ = parse_statement(&text);
        let _ = parse_statements(&text);
    }

    #[test]
    fn mutated_valid_statements_never_panic(
        index in 0..CORPUS.len(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let text = apply(CORPUS[index], &edits);
        if let Err(e) = parse_statement(&text) {
            // The position must point into the text.
            prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1, "{e} for {text}");
        }
    }
}

// ------------------------------------------------------------ AST round trips

/// Names: simple ones, keyword-like ones that must stay usable, and names that
/// need quoting.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_]{0,8}",
        2 => proptest::sample::select(vec![
            "key", "type", "json", "distinct", "count", "ttl", "writetime", "cast", "token", "select", "from",
            "values", "p1d", "text", "static", "clustering", "compact", "as", "and", "true", "nan", "list",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z0-9_ \"]{0,8}",
    ]
}

fn qualified() -> impl Strategy<Value = QualifiedName> {
    (proptest::option::of(name()), name()).prop_map(|(keyspace, name)| QualifiedName { keyspace, name })
}

fn native_type() -> impl Strategy<Value = NativeType> {
    use NativeType::*;
    proptest::sample::select(vec![
        Ascii, Bigint, Blob, Boolean, Counter, Date, Decimal, Double, Duration, Float, Inet, Int, Smallint, Text, Time, Timestamp,
        Timeuuid, Tinyint, Uuid, Varint,
    ])
}

fn cql_type() -> impl Strategy<Value = CqlType> {
    let leaf = prop_oneof![
        6 => native_type().prop_map(CqlType::Native),
        1 => qualified().prop_map(CqlType::UserDefined),
        1 => "[a-zA-Z.']{1,12}".prop_map(CqlType::Custom),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| CqlType::List(Box::new(t))),
            inner.clone().prop_map(|t| CqlType::Set(Box::new(t))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| CqlType::Map(Box::new(k), Box::new(v))),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(CqlType::Tuple),
            inner.prop_map(|t| CqlType::Frozen(Box::new(t))),
        ]
    })
}

/// Literal terms of every kind; none prints as a bare word that could be a name.
fn literal() -> impl Strategy<Value = Term> {
    prop_oneof![
        Just(Term::Null),
        any::<bool>().prop_map(Term::Boolean),
        "-?[0-9]{1,18}".prop_map(Term::Integer),
        "-?[0-9]{1,5}\\.[0-9]{1,5}([eE]-?[0-9]{1,2})?".prop_map(Term::Float),
        "-?[0-9]{1,3}[eE][0-9]{1,2}".prop_map(Term::Float),
        proptest::sample::select(vec!["NaN", "Infinity", "-Infinity"]).prop_map(|s| Term::Float(s.to_string())),
        any::<String>().prop_map(Term::String),
        any::<u128>().prop_map(|n| Term::Uuid(uuid::Uuid::from_u128(n))),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Term::Blob),
        "-?([1-9][0-9]{0,3}(y|mo|w|d|h|m|s|ms|us|µs|ns)){1,3}".prop_map(Term::Duration),
    ]
}

fn bind_marker() -> impl Strategy<Value = Term> {
    proptest::option::of(name()).prop_map(|name| Term::Bind { index: 0, name })
}

fn term() -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        8 => literal(),
        2 => bind_marker(),
        1 => proptest::sample::select(vec!["P1DT2H", "P2W", "PT30M", "P1Y2M3D"]).prop_map(|s| Term::Duration(s.to_string())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Term::List),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Term::Set),
            proptest::collection::vec((literal(), inner.clone()), 0..4).prop_map(Term::Map),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Term::Tuple),
            proptest::collection::vec((name(), inner.clone()), 1..4).prop_map(Term::UserType),
            ("[a-z][a-z0-9_]{0,6}", proptest::collection::vec(inner.clone(), 0..3))
                .prop_map(|(name, args)| Term::FunctionCall { name, args }),
            (cql_type(), inner).prop_map(|(ty, t)| Term::Cast(ty, Box::new(t))),
        ]
    })
}

fn operator() -> impl Strategy<Value = Operator> {
    use Operator::*;
    proptest::sample::select(vec![Eq, Neq, Lt, Lte, Gt, Gte, Contains, ContainsKey, Like])
}

fn relation() -> impl Strategy<Value = Relation> {
    prop_oneof![
        (name(), operator(), term()).prop_map(|(c, op, value)| Relation {
            target: RelationTarget::Column(c),
            op,
            value
        }),
        (
            name(),
            prop_oneof![proptest::collection::vec(term(), 0..4).prop_map(Term::Tuple), bind_marker()]
        )
            .prop_map(|(c, value)| Relation {
                target: RelationTarget::Column(c),
                op: Operator::In,
                value
            }),
        (
            proptest::collection::vec(name(), 1..3),
            operator(),
            proptest::collection::vec(literal(), 1..3)
        )
            .prop_map(|(cols, op, values)| Relation {
                target: RelationTarget::Tuple(cols),
                op,
                value: Term::Tuple(values)
            }),
        (proptest::collection::vec(name(), 1..3), operator(), term()).prop_map(|(cols, op, value)| Relation {
            target: RelationTarget::Token(cols),
            op,
            value
        }),
    ]
}

fn int_value() -> impl Strategy<Value = Term> {
    prop_oneof!["[0-9]{1,6}".prop_map(Term::Integer), bind_marker()]
}

fn selector_expr() -> impl Strategy<Value = SelectorExpr> {
    let leaf = prop_oneof![
        4 => name().prop_map(SelectorExpr::Column),
        1 => Just(SelectorExpr::CountAll),
        1 => name().prop_map(SelectorExpr::WriteTime),
        1 => name().prop_map(SelectorExpr::Ttl),
        1 => literal().prop_map(SelectorExpr::Term),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (
                "[a-z][a-z0-9_]{0,6}".prop_filter("special selector names", |n| {
                    !matches!(n.as_str(), "cast" | "writetime" | "ttl" | "count")
                }),
                proptest::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(name, args)| SelectorExpr::Function { name, args }),
            (inner.clone(), cql_type()).prop_map(|(e, ty)| SelectorExpr::Cast(Box::new(e), ty)),
            // `1.f` would lex as the float `1.` followed by `f`; fields of literals mean nothing anyway.
            (
                inner.prop_filter("field of a literal", |e| !matches!(e, SelectorExpr::Term(_))),
                name()
            )
                .prop_map(|(e, f)| SelectorExpr::Field(Box::new(e), f)),
        ]
    })
}

fn select() -> impl Strategy<Value = Select> {
    let selection = prop_oneof![
        1 => Just(Selection::Wildcard),
        3 => proptest::collection::vec(
            (selector_expr(), proptest::option::of(name())).prop_map(|(expr, alias)| Selector { expr, alias }),
            1..4
        )
        .prop_map(Selection::Selectors),
    ];
    let order = proptest::sample::select(vec![Order::Asc, Order::Desc]);
    (
        (qualified(), any::<bool>(), any::<bool>(), selection),
        proptest::collection::vec(relation(), 0..4),
        proptest::collection::vec(name(), 0..3),
        proptest::collection::vec((name(), order), 0..3),
        (proptest::option::of(int_value()), proptest::option::of(int_value()), any::<bool>()),
    )
        .prop_map(
            |((table, distinct, json, selection), where_clause, group_by, order_by, tail)| Select {
                table,
                distinct,
                json,
                selection,
                where_clause,
                group_by,
                order_by,
                per_partition_limit: tail.0,
                limit: tail.1,
                allow_filtering: tail.2,
            },
        )
}

fn insert() -> impl Strategy<Value = Insert> {
    (
        qualified(),
        proptest::collection::vec((name(), term()), 1..5),
        any::<bool>(),
        proptest::option::of(int_value()),
        proptest::option::of(int_value()),
    )
        .prop_map(|(table, pairs, if_not_exists, ttl, timestamp)| {
            let (columns, values) = pairs.into_iter().unzip();
            Insert {
                table,
                columns,
                values,
                json: None,
                json_default_unset: false,
                if_not_exists,
                using: Using { ttl, timestamp },
            }
        })
}

fn property() -> impl Strategy<Value = Property> {
    let value = prop_oneof![
        literal(),
        proptest::collection::vec((any::<String>().prop_map(Term::String), literal()), 0..3).prop_map(Term::Map),
    ];
    (name(), value).prop_map(|(name, value)| Property { name, value })
}

fn create_table() -> impl Strategy<Value = CreateTable> {
    let column = (name(), cql_type(), any::<bool>()).prop_map(|(name, ty, is_static)| ColumnDef { name, ty, is_static });
    let order = proptest::sample::select(vec![Order::Asc, Order::Desc]);
    (
        (qualified(), any::<bool>(), proptest::collection::vec(column, 0..5)),
        (proptest::collection::vec(name(), 1..3), proptest::collection::vec(name(), 0..3)),
        (proptest::collection::vec((name(), order), 0..3), any::<bool>()),
        proptest::collection::vec(property(), 0..4),
    )
        .prop_map(
            |((name, if_not_exists, columns), (partition_key, clustering_key), (clustering_order, compact_storage), properties)| {
                CreateTable {
                    name,
                    if_not_exists,
                    columns,
                    partition_key,
                    clustering_key,
                    clustering_order,
                    compact_storage,
                    properties,
                }
            },
        )
}

/// Numbers bind markers 0, 1, 2... in printing order, as the parser does.
fn renumber(t: &mut Term, next: &mut usize) {
    match t {
        Term::Bind { index, .. } => {
            *index = *next;
            *next += 1;
        }
        Term::List(items) | Term::Set(items) | Term::Tuple(items) => items.iter_mut().for_each(|i| renumber(i, next)),
        Term::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            renumber(k, next);
            renumber(v, next);
        }),
        Term::UserType(fields) => fields.iter_mut().for_each(|(_, v)| renumber(v, next)),
        Term::FunctionCall { args, .. } => args.iter_mut().for_each(|a| renumber(a, next)),
        Term::Cast(_, inner) => renumber(inner, next),
        _ => {}
    }
}

fn renumber_selector(e: &mut SelectorExpr, next: &mut usize) {
    match e {
        SelectorExpr::Function { args, .. } => args.iter_mut().for_each(|a| renumber_selector(a, next)),
        SelectorExpr::Cast(inner, _) | SelectorExpr::Field(inner, _) => renumber_selector(inner, next),
        SelectorExpr::Term(t) => renumber(t, next),
        _ => {}
    }
}

fn assert_round_trip(mut statement: Statement) -> Result<(), TestCaseError> {
    let mut next = 0;
    match &mut statement {
        Statement::Select(s) => {
            if let Selection::Selectors(sels) = &mut s.selection {
                sels.iter_mut().for_each(|sel| renumber_selector(&mut sel.expr, &mut next));
            }
            s.where_clause.iter_mut().for_each(|r| renumber(&mut r.value, &mut next));
            for t in [&mut s.per_partition_limit, &mut s.limit].into_iter().flatten() {
                renumber(t, &mut next);
            }
        }
        Statement::Insert(s) => {
            s.values.iter_mut().for_each(|v| renumber(v, &mut next));
            for t in [&mut s.using.ttl, &mut s.using.timestamp].into_iter().flatten() {
                renumber(t, &mut next);
            }
        }
        _ => {}
    }
    let printed = statement.to_string();
    let parsed = parse_statement(&printed).map_err(|e| TestCaseError::fail(format!("{printed}\n{e}")))?;
    prop_assert_eq!(parsed, statement, "{}", printed);
    Ok(())
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn random_selects_print_and_parse_back(s in select()) {
        assert_round_trip(Statement::Select(s))?;
    }

    #[test]
    fn random_inserts_print_and_parse_back(s in insert()) {
        assert_round_trip(Statement::Insert(s))?;
    }

    #[test]
    fn random_create_tables_print_and_parse_back(s in create_table()) {
        assert_round_trip(Statement::CreateTable(s))?;
    }
}
