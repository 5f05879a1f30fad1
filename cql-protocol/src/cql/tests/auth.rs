//! Roles and permissions statements.

use super::*;

#[test]
fn create_role_takes_its_options_in_any_order_and_keeps_quoted_names() {
    assert_eq!(
        parse("CREATE ROLE IF NOT EXISTS \"Alice\" WITH SUPERUSER = true AND PASSWORD = 'pw' AND LOGIN = false"),
        Statement::CreateRole(CreateRole {
            name: "Alice".into(),
            if_not_exists: true,
            options: RoleOptions {
                password: Some("pw".into()),
                login: Some(false),
                superuser: Some(true),
            },
        })
    );
    let Statement::CreateRole(r) = parse("create role Bob") else {
        panic!()
    };
    assert_eq!((r.name.as_str(), r.options.is_empty()), ("bob", true));
    let Statement::CreateRole(r) = parse("CREATE ROLE 'Mixed Case'") else {
        panic!()
    };
    assert_eq!(r.name, "Mixed Case");
}

#[test]
fn create_user_is_a_role_that_can_log_in() {
    assert_eq!(
        parse("CREATE USER dave WITH PASSWORD 'x'"),
        Statement::CreateRole(CreateRole {
            name: "dave".into(),
            if_not_exists: false,
            options: RoleOptions {
                password: Some("x".into()),
                login: Some(true),
                superuser: Some(false),
            },
        })
    );
}

#[test]
fn an_option_given_twice_or_an_empty_alter_is_a_syntax_error() {
    for bad in [
        "CREATE ROLE a WITH LOGIN = true AND LOGIN = false",
        "CREATE ROLE a WITH PASSWORD = 'x' AND PASSWORD = 'y'",
        "CREATE ROLE a WITH LOGIN = 'yes'",
        "CREATE ROLE a WITH COLOUR = 'red'",
        "ALTER ROLE a",
        "GRANT FLY ON ALL KEYSPACES TO a",
        "GRANT SELECT ON ALL TABLES TO a",
        "GRANT SELECT TO a",
        "REVOKE SELECT ON KEYSPACE ks TO a",
    ] {
        assert!(parse_statement(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn grant_names_permissions_resources_and_the_grantee() {
    assert_eq!(
        parse("GRANT MODIFY ON TABLE ks.t TO alice"),
        Statement::Grant(GrantPermissions {
            permissions: vec![Permission::Modify],
            resource: Resource::Table(qn(Some("ks"), "t")),
            role: "alice".into(),
        })
    );
    assert_eq!(
        parse("REVOKE ALL ON KEYSPACE ks FROM alice"),
        Statement::Revoke(GrantPermissions {
            permissions: Permission::ALL.to_vec(),
            resource: Resource::Keyspace("ks".into()),
            role: "alice".into(),
        })
    );
    let Statement::Grant(g) = parse("GRANT select PERMISSION ON t TO alice") else {
        panic!()
    };
    assert_eq!(
        (g.permissions, g.resource),
        (vec![Permission::Select], Resource::Table(qn(None, "t")))
    );
}

#[test]
fn list_forms() {
    assert_eq!(parse("LIST ROLES"), Statement::ListRoles(ListRoles { of: None, users: false }));
    assert_eq!(parse("LIST USERS"), Statement::ListRoles(ListRoles { of: None, users: true }));
    assert_eq!(
        parse("LIST ALL PERMISSIONS ON ALL KEYSPACES OF alice NORECURSIVE"),
        Statement::ListPermissions(ListPermissions {
            permission: None,
            resource: Some(Resource::AllKeyspaces),
            role: Some("alice".into()),
        })
    );
    assert_eq!(
        parse("LIST MODIFY"),
        Statement::ListPermissions(ListPermissions {
            permission: Some(Permission::Modify),
            resource: None,
            role: None,
        })
    );
}
