//! Cassandra's reserved keywords: the words that can only be identifiers when
//! quoted. The parser refuses them as bare names and the printer quotes them.
//! Every other keyword (`key`, `type`, `ttl`, `count`, ...) is a valid name.

/// Reserved keywords, lower-case, sorted for binary search. Cassandra's list,
/// plus `true` and `false`, which its lexer turns into literals.
const RESERVED: [&str; 63] = [
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "default",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "false",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "true",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// Whether `word` (any case) is reserved.
pub(crate) fn is_reserved(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    RESERVED.binary_search(&lower.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_list_is_sorted_so_binary_search_works() {
        let mut sorted = RESERVED.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED.to_vec());
    }

    #[test]
    fn reserved_words_match_in_any_case_and_column_words_are_free() {
        assert!(is_reserved("SELECT"));
        assert!(is_reserved("Token"));
        for free in [
            "key",
            "type",
            "ttl",
            "writetime",
            "count",
            "values",
            "json",
            "text",
            "kind",
            "options",
        ] {
            assert!(!is_reserved(free), "{free}");
        }
    }
}
