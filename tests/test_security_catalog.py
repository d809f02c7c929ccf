"""Catalog checks: the database itself must enforce the access rules everywhere."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Columns that make a table organisation-owned or personal.
SENSITIVE_COLUMNS = (
    "org_id",
    "provider_org_id",
    "owner_org_id",
    "partner_org_id",
    "team_org_id",
    "actor_org_id",
    "uprn",
    "user_id",
    "subject_ref",
    "author_user_id",
    "actor_user_id",
)
NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"


def test_every_sensitive_table_forces_rls_with_an_app_policy(owner_conn: Connection) -> None:
    rows = owner_conn.execute(
        text(f"""
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                       AND 'hardening_app'::regrole = ANY(p.polroles)) AS has_app_policy,
               has_any_column_privilege('hardening_app', c.oid, 'SELECT') AS app_reads
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND {NOT_EXTENSION}
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                      AND a.attname = ANY(:cols) AND NOT a.attisdropped)
    """),
        {"cols": list(SENSITIVE_COLUMNS)},
    ).all()
    assert len(rows) >= 15  # the check must be looking at the real schema
    failures = [
        r.relname
        for r in rows
        if r.app_reads and not (r.relrowsecurity and r.relforcerowsecurity and r.has_app_policy)
    ]
    assert failures == []


def test_every_view_is_security_invoker(owner_conn: Connection) -> None:
    rows = (
        owner_conn.execute(
            text(f"""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') AND {NOT_EXTENSION}
          AND NOT coalesce('security_invoker=true' = ANY(c.reloptions), false)
    """)
        )
        .scalars()
        .all()
    )
    assert rows == []


def test_application_role_is_powerless_over_the_schema(owner_conn: Connection) -> None:
    role = owner_conn.execute(
        text(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = 'hardening_app'"
        )
    ).one()
    assert tuple(role) == (False, False, False, False)
    owned = owner_conn.execute(
        text("SELECT count(*) FROM pg_class c WHERE c.relowner = 'hardening_app'::regrole")
    ).scalar_one()
    assert owned == 0


def test_audit_log_is_append_only_for_the_application(owner_conn: Connection) -> None:
    privileges = owner_conn.execute(
        text(
            "SELECT has_table_privilege('hardening_app', 'audit_log', 'UPDATE'), "
            "has_table_privilege('hardening_app', 'audit_log', 'DELETE'), "
            "has_table_privilege('hardening_app', 'audit_log', 'TRUNCATE'), "
            "has_table_privilege('hardening_app', 'audit_log', 'INSERT')"
        )
    ).one()
    assert tuple(privileges) == (False, False, False, True)


def test_application_cannot_read_password_hashes(owner_conn: Connection) -> None:
    readable = owner_conn.execute(
        text("SELECT has_column_privilege('hardening_app', 'users', 'password_hash', 'SELECT')")
    ).scalar_one()
    assert readable is False
