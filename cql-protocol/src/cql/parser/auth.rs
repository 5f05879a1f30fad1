//! Roles and permissions: `CREATE | ALTER | DROP ROLE`, the legacy `USER` forms,
//! `LIST ROLES | USERS`, `GRANT`, `REVOKE` and `LIST <permissions>`.

use crate::cql::ast::Statement;
use crate::cql::auth::{AlterRole, CreateRole, DropRole, GrantPermissions, ListPermissions, ListRoles, Permission, Resource, RoleOptions};
use crate::cql::lexer::TokenKind;

use super::input::{at_kw, at_sym, ident, if_exists, if_not_exists, kw, qualified_name, sym, PResult, Tokens};

/// Whether `CREATE | ALTER | DROP` is followed by `ROLE` or `USER`.
pub(crate) fn is_role_statement(i: &Tokens<'_>) -> bool {
    let next = i.next();
    at_kw(&next, "ROLE") || at_kw(&next, "USER")
}

/// `CREATE ROLE | USER ...`
pub(crate) fn create(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("CREATE")(i)?;
    let user = at_kw(&i, "USER");
    let i = i.next();
    let (i, if_not_exists) = if_not_exists(i)?;
    let (i, name) = role_name(i)?;
    let (i, options) = if user { user_options(i)? } else { role_options(i)? };
    let options = if user {
        RoleOptions {
            login: Some(true),
            superuser: options.superuser.or(Some(false)),
            ..options
        }
    } else {
        options
    };
    Ok((
        i,
        Statement::CreateRole(CreateRole {
            name,
            if_not_exists,
            options,
        }),
    ))
}

/// `ALTER ROLE | USER ...`
pub(crate) fn alter(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("ALTER")(i)?;
    let user = at_kw(&i, "USER");
    let (i, name) = role_name(i.next())?;
    let (i, options) = if user { user_options(i)? } else { role_options(i)? };
    if options.is_empty() {
        return Err(i.fail(format!("ALTER ROLE {name} needs at least one of PASSWORD, LOGIN, SUPERUSER")));
    }
    Ok((i, Statement::AlterRole(AlterRole { name, options })))
}

/// `DROP ROLE | USER [IF EXISTS] name`
pub(crate) fn drop(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("DROP")(i)?;
    let (i, if_exists) = if_exists(i.next())?;
    let (i, name) = role_name(i)?;
    Ok((i, Statement::DropRole(DropRole { name, if_exists })))
}

/// `LIST ROLES [OF r] [NORECURSIVE]`, `LIST USERS`, `LIST <permissions> ...`
pub(crate) fn list(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("LIST")(i)?;
    if at_kw(&i, "USERS") {
        return Ok((i.next(), Statement::ListRoles(ListRoles { of: None, users: true })));
    }
    if at_kw(&i, "ROLES") {
        let i = i.next();
        let (i, of) = if at_kw(&i, "OF") {
            let (i, r) = role_name(i.next())?;
            (i, Some(r))
        } else {
            (i, None)
        };
        let i = norecursive(i);
        return Ok((i, Statement::ListRoles(ListRoles { of, users: false })));
    }
    let (i, permissions) = permissions(i)?;
    let permission = if permissions.len() == 1 {
        permissions.first().copied()
    } else {
        None
    };
    let (i, resource) = if at_kw(&i, "ON") {
        let (i, r) = resource(i.next())?;
        (i, Some(r))
    } else {
        (i, None)
    };
    let (i, role) = if at_kw(&i, "OF") {
        let (i, r) = role_name(i.next())?;
        (i, Some(r))
    } else {
        (i, None)
    };
    let i = norecursive(i);
    Ok((
        i,
        Statement::ListPermissions(ListPermissions {
            permission,
            resource,
            role,
        }),
    ))
}

/// `GRANT <permissions> ON <resource> TO role`
pub(crate) fn grant(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("GRANT")(i)?;
    let (i, g) = grant_body(i, "TO")?;
    Ok((i, Statement::Grant(g)))
}

/// `REVOKE <permissions> ON <resource> FROM role`
pub(crate) fn revoke(i: Tokens<'_>) -> PResult<'_, Statement> {
    let (i, ()) = kw("REVOKE")(i)?;
    let (i, g) = grant_body(i, "FROM")?;
    Ok((i, Statement::Revoke(g)))
}

fn grant_body<'a>(i: Tokens<'a>, preposition: &'static str) -> PResult<'a, GrantPermissions> {
    let (i, permissions) = permissions(i)?;
    let (i, ()) = kw("ON")(i)?;
    let (i, resource) = resource(i)?;
    let (i, ()) = kw(preposition)(i)?;
    let (i, role) = role_name(i)?;
    Ok((
        i,
        GrantPermissions {
            permissions,
            resource,
            role,
        },
    ))
}

fn norecursive(i: Tokens<'_>) -> Tokens<'_> {
    if at_kw(&i, "NORECURSIVE") {
        i.next()
    } else {
        i
    }
}

/// `ALL [PERMISSIONS]` or one permission name with an optional `PERMISSION`.
fn permissions(i: Tokens<'_>) -> PResult<'_, Vec<Permission>> {
    if at_kw(&i, "ALL") {
        let i = i.next();
        let i = if at_kw(&i, "PERMISSIONS") { i.next() } else { i };
        return Ok((i, Permission::ALL.to_vec()));
    }
    let Some(tok) = i.first() else {
        return Err(i.expect_err("a permission"));
    };
    let Some(p) = (tok.kind == TokenKind::Ident).then(|| Permission::from_name(tok.text)).flatten() else {
        for p in Permission::ALL {
            i.expect_err(p.name());
        }
        return Err(i.expect_err("ALL"));
    };
    let i = i.next();
    let i = if at_kw(&i, "PERMISSION") { i.next() } else { i };
    Ok((i, vec![p]))
}

fn resource(i: Tokens<'_>) -> PResult<'_, Resource> {
    if at_kw(&i, "ALL") {
        let i = i.next();
        if at_kw(&i, "KEYSPACES") {
            return Ok((i.next(), Resource::AllKeyspaces));
        }
        i.expect_err("KEYSPACES");
        let (i, ()) = kw("ROLES")(i)?;
        return Ok((i, Resource::AllRoles));
    }
    if at_kw(&i, "KEYSPACE") {
        let (i, name) = ident(i.next())?;
        return Ok((i, Resource::Keyspace(name)));
    }
    if at_kw(&i, "ROLE") {
        let (i, name) = role_name(i.next())?;
        return Ok((i, Resource::Role(name)));
    }
    let i = if at_kw(&i, "TABLE") { i.next() } else { i };
    let (i, name) = qualified_name(i)?;
    Ok((i, Resource::Table(name)))
}

/// A role name: an identifier (lower-cased unless quoted) or a string (kept as is).
fn role_name(i: Tokens<'_>) -> PResult<'_, String> {
    match i.first() {
        Some(t) if t.kind == TokenKind::String => Ok((i.next(), t.value.to_string())),
        _ => ident(i),
    }
}

fn string(i: Tokens<'_>) -> PResult<'_, String> {
    match i.first() {
        Some(t) if t.kind == TokenKind::String => Ok((i.next(), t.value.to_string())),
        _ => Err(i.expect_err("a string")),
    }
}

fn boolean(i: Tokens<'_>) -> PResult<'_, bool> {
    if at_kw(&i, "TRUE") {
        return Ok((i.next(), true));
    }
    if at_kw(&i, "FALSE") {
        return Ok((i.next(), false));
    }
    i.expect_err("true");
    Err(i.expect_err("false"))
}

/// `[WITH option [AND option]...]`, each option once.
fn role_options(i: Tokens<'_>) -> PResult<'_, RoleOptions> {
    let mut options = RoleOptions::default();
    if !at_kw(&i, "WITH") {
        return Ok((i, options));
    }
    let mut i = i.next();
    loop {
        let word = i.first().map(|t| t.text.to_ascii_uppercase()).unwrap_or_default();
        let start = i;
        i = match word.as_str() {
            "PASSWORD" => {
                let (rest, ()) = sym("=")(i.next())?;
                let (rest, p) = string(rest)?;
                if options.password.replace(p).is_some() {
                    return Err(start.fail("PASSWORD is given twice".into()));
                }
                rest
            }
            "LOGIN" | "SUPERUSER" => {
                let (rest, ()) = sym("=")(i.next())?;
                let (rest, b) = boolean(rest)?;
                let slot = if word == "LOGIN" {
                    &mut options.login
                } else {
                    &mut options.superuser
                };
                if slot.replace(b).is_some() {
                    return Err(start.fail(format!("{word} is given twice")));
                }
                rest
            }
            _ => {
                i.expect_err("PASSWORD");
                i.expect_err("LOGIN");
                return Err(i.expect_err("SUPERUSER"));
            }
        };
        if !at_kw(&i, "AND") {
            return Ok((i, options));
        }
        i = i.next();
    }
}

/// The legacy `[WITH PASSWORD 'p'] [SUPERUSER | NOSUPERUSER]` of the USER forms.
fn user_options(i: Tokens<'_>) -> PResult<'_, RoleOptions> {
    let mut options = RoleOptions::default();
    let mut i = i;
    if at_kw(&i, "WITH") {
        let (rest, ()) = kw("PASSWORD")(i.next())?;
        let rest = if at_sym(&rest, "=") { rest.next() } else { rest };
        let (rest, p) = string(rest)?;
        options.password = Some(p);
        i = rest;
    }
    if at_kw(&i, "SUPERUSER") {
        options.superuser = Some(true);
        i = i.next();
    } else if at_kw(&i, "NOSUPERUSER") {
        options.superuser = Some(false);
        i = i.next();
    }
    Ok((i, options))
}
