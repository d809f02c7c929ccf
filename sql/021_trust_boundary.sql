-- 021: the actor is established by the database, never asserted by the service.
--
-- Before: policies trusted transaction settings (app.user_id, app.org_id, app.roles) that any
-- session may set, so whoever held the service's connection could act as anyone. Now the actor
-- of a transaction is a row in auth_context, which only the definer functions below write:
--   app_authenticate(credential)  an API token or a sign-in session's token (hardening_app);
--   auth_sign_in(name, password)  checks the password here and opens a server-side session;
--   app_act_as_system() / app_act_as_user(id)  for sessions that logged in as the schema owner
--                                 (importers, CLI maintenance), refused to the service's role.
-- The row is keyed by the backend and the transaction's start, so it ends with the transaction
-- (the per-transaction context the tests check) and cannot be carried into the next one.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Unlogged: it lives for one transaction and is worthless after a crash.
CREATE UNLOGGED TABLE auth_context (
    pid        integer PRIMARY KEY,
    xact_start timestamptz NOT NULL,
    user_id    bigint,
    org_id     text,
    roles      text[] NOT NULL DEFAULT '{}',
    username   text NOT NULL,
    is_system  boolean NOT NULL DEFAULT false
);
REVOKE ALL ON auth_context FROM PUBLIC, hardening_app;

-- Sessions opened by sign-in (the map): only a hash of the token is kept, as for API tokens.
CREATE TABLE auth_sessions (
    session_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id) WHERE ended_at IS NULL;
REVOKE ALL ON auth_sessions FROM PUBLIC, hardening_app;

-- Sign-in guard: five wrong passwords in a row lock the account for fifteen minutes.
ALTER TABLE users ADD COLUMN failed_sign_ins integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until timestamptz;
-- No usable password until auth_set_password sets one ('!' matches no bcrypt hash).
ALTER TABLE users ALTER COLUMN password_hash SET DEFAULT '!';
-- The service writes users only through these columns; hashes and the guard are the definer
-- functions' alone.
REVOKE INSERT, UPDATE ON users FROM hardening_app;
GRANT INSERT (user_id, org_id, username, display_name, roles, active, created_at)
    ON users TO hardening_app;
GRANT UPDATE (org_id, display_name, roles, active) ON users TO hardening_app;

-- The migrations record, the catalogue of measures (its costs) and PostGIS's reference systems
-- are the owner's; the service only reads them. (Imported reference data, such as areas and
-- roads, is still writable by the service role: see docs/security.md.)
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON measures_catalogue, schema_migrations, spatial_ref_sys
    FROM hardening_app;

-- The owner acts as the application role in its tests and tools (SET ROLE hardening_app);
-- a superuser may already, a plain owner needs the membership.
DO $$
BEGIN
    EXECUTE format('GRANT hardening_app TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'owner not made a member of hardening_app: %', SQLERRM;
END $$;

-- The helpers every policy reads. Schema-qualified, no SET clause: they run as InitPlans on
-- every protected query, and a SET clause costs a settings save and restore per call.
-- PARALLEL RESTRICTED: the row is keyed by the leader's backend.
CREATE OR REPLACE FUNCTION app_user_id() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT c.user_id FROM public.auth_context c
    WHERE c.pid = pg_catalog.pg_backend_pid() AND c.xact_start = pg_catalog.now()
$$;

CREATE OR REPLACE FUNCTION app_org_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT c.org_id FROM public.auth_context c
    WHERE c.pid = pg_catalog.pg_backend_pid() AND c.xact_start = pg_catalog.now()
$$;

CREATE OR REPLACE FUNCTION app_roles() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT coalesce((SELECT c.roles FROM public.auth_context c
                     WHERE c.pid = pg_catalog.pg_backend_pid()
                       AND c.xact_start = pg_catalog.now()), '{}')
$$;

CREATE OR REPLACE FUNCTION app_is_system() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT coalesce((SELECT c.is_system FROM public.auth_context c
                     WHERE c.pid = pg_catalog.pg_backend_pid()
                       AND c.xact_start = pg_catalog.now()), false)
$$;

CREATE FUNCTION auth_token_hash(p_token text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT encode(sha256(convert_to(p_token, 'UTF8')), 'hex')
$$;

CREATE FUNCTION auth_record_actor(p_user users, p_system boolean) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO auth_context (pid, xact_start, user_id, org_id, roles, username, is_system)
    VALUES (pg_backend_pid(), now(), p_user.user_id, p_user.org_id,
            coalesce(p_user.roles, '{}'), coalesce(p_user.username, 'system'), p_system)
    ON CONFLICT (pid) DO UPDATE SET xact_start = EXCLUDED.xact_start,
        user_id = EXCLUDED.user_id, org_id = EXCLUDED.org_id, roles = EXCLUDED.roles,
        username = EXCLUDED.username, is_system = EXCLUDED.is_system
$$;
REVOKE ALL ON FUNCTION auth_record_actor(users, boolean) FROM PUBLIC;

-- Idle and absolute limits of a sign-in session (an API token has its own expiry).
CREATE FUNCTION auth_session_idle() RETURNS interval LANGUAGE sql IMMUTABLE AS
$$ SELECT interval '30 minutes' $$;
CREATE FUNCTION auth_session_lifetime() RETURNS interval LANGUAGE sql IMMUTABLE AS
$$ SELECT interval '8 hours' $$;

-- The service's one way to act: present what the user presented. No row: not authenticated
-- (unknown, expired, revoked, idle too long, or the user was deactivated), and no actor.
CREATE FUNCTION app_authenticate(p_credential text)
RETURNS TABLE (user_id bigint, org_id text, roles text[], username text, display_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    h text := auth_token_hash(p_credential);
    u users;
BEGIN
    DELETE FROM auth_context c WHERE c.pid = pg_backend_pid();
    SELECT us.* INTO u FROM api_tokens t JOIN users us ON us.user_id = t.user_id
    WHERE t.token_hash = h AND t.revoked_at IS NULL AND t.expires_at > now() AND us.active;
    IF u.user_id IS NULL THEN
        SELECT us.* INTO u FROM auth_sessions s JOIN users us ON us.user_id = s.user_id
        WHERE s.token_hash = h AND s.ended_at IS NULL AND s.expires_at > now()
          AND s.last_seen_at > now() - auth_session_idle() AND us.active;
        IF u.user_id IS NULL THEN
            RETURN;
        END IF;
        -- At most one write a minute per session: the idle clock needs no finer grain.
        UPDATE auth_sessions s SET last_seen_at = now()
        WHERE s.token_hash = h AND s.last_seen_at < now() - interval '1 minute';
    END IF;
    PERFORM auth_record_actor(u, false);
    RETURN QUERY SELECT u.user_id, u.org_id, u.roles, u.username, u.display_name;
END $$;

-- Tooling trust: only a session that logged in as (a member of) the schema owner. session_user
-- survives SET ROLE, so the owner's tests may act as hardening_app and still switch actors;
-- the service's own login never passes.
CREATE FUNCTION auth_require_owner_session() RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(session_user,
                       (SELECT relowner FROM pg_class WHERE oid = 'public.auth_context'::regclass),
                       'MEMBER') THEN
        RAISE EXCEPTION 'only the schema owner''s sessions may act as the system or as a named '
            'user; the service role acts only with a credential (app_authenticate)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

CREATE FUNCTION app_act_as_system() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM auth_require_owner_session();
    PERFORM auth_record_actor(NULL::users, true);
END $$;

CREATE FUNCTION app_act_as_user(p_user_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u users;
BEGIN
    PERFORM auth_require_owner_session();
    SELECT * INTO u FROM users WHERE users.user_id = p_user_id;
    IF u.user_id IS NULL THEN
        RAISE EXCEPTION 'no user with id %', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM auth_record_actor(u, false);
END $$;

-- Nobody: a transaction that acts as no one sees nothing.
CREATE FUNCTION app_act_as_nobody() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM auth_context WHERE pid = pg_backend_pid()
$$;

-- Sign-in: the password is checked here (bcrypt through pgcrypto), so the service never reads
-- a hash. Outcomes: ok (with a new session token), wrong, locked (with until when),
-- reset_needed (a hash from before this migration: an administrator sets a new password).
CREATE FUNCTION auth_sign_in(p_username text, p_password text)
RETURNS TABLE (outcome text, session_token text, user_id bigint, org_id text, roles text[],
               username text, display_name text, locked_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u users;
    token text;
BEGIN
    SELECT * INTO u FROM users WHERE users.username = p_username;
    IF u.user_id IS NULL OR u.password_hash NOT LIKE '$2_$%' THEN
        -- The same bcrypt work as a real check, so the time taken does not reveal names.
        PERFORM crypt(coalesce(p_password, ''), '$2a$12$hardeningnoonehashereuu');
        RETURN QUERY SELECT CASE WHEN u.password_hash LIKE '$argon2%' AND u.active
                                 THEN 'reset_needed' ELSE 'wrong' END,
                            NULL::text, NULL::bigint, NULL::text, NULL::text[], NULL::text,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF u.locked_until > now() THEN
        RETURN QUERY SELECT 'locked', NULL::text, NULL::bigint, NULL::text, NULL::text[],
                            NULL::text, NULL::text, u.locked_until;
        RETURN;
    END IF;
    IF crypt(coalesce(p_password, ''), u.password_hash) <> u.password_hash OR NOT u.active THEN
        UPDATE users SET
            failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= 5 THEN 0
                                   ELSE failed_sign_ins + 1 END,
            locked_until = CASE WHEN failed_sign_ins + 1 >= 5
                                THEN now() + interval '15 minutes' END
        WHERE users.user_id = u.user_id;
        RETURN QUERY SELECT 'wrong', NULL::text, NULL::bigint, NULL::text, NULL::text[],
                            NULL::text, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE users.user_id = u.user_id;
    token := 'hds_' || encode(gen_random_bytes(32), 'hex');
    INSERT INTO auth_sessions (user_id, token_hash, expires_at)
    VALUES (u.user_id, auth_token_hash(token), now() + auth_session_lifetime());
    -- Sign-ins are rare: a good moment to drop what no live backend can use.
    DELETE FROM auth_context c WHERE c.pid NOT IN (SELECT pid FROM pg_stat_activity);
    RETURN QUERY SELECT 'ok', token, u.user_id, u.org_id, u.roles, u.username, u.display_name,
                        NULL::timestamptz;
END $$;

CREATE FUNCTION auth_sign_out(p_session_token text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE auth_sessions SET ended_at = now()
    WHERE token_hash = auth_token_hash(p_session_token) AND ended_at IS NULL
$$;

-- Set a password: the system, or an administrator for users of their own organisation. Ends
-- the user's open sessions and clears the guard.
CREATE FUNCTION auth_set_password(p_username text, p_password text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u users;
BEGIN
    SELECT * INTO u FROM users WHERE users.username = p_username;
    IF u.user_id IS NULL OR NOT (app_is_system()
            OR (app_has_any_role('{admin}') AND u.org_id = app_org_id())) THEN
        RAISE EXCEPTION 'no user % that you may administer', p_username
            USING ERRCODE = 'no_data_found';
    END IF;
    IF length(p_password) < 12 OR octet_length(p_password) > 72 THEN
        RAISE EXCEPTION 'a password needs 12 to 72 bytes' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE users SET password_hash = crypt(p_password, gen_salt('bf', 12)),
                     failed_sign_ins = 0, locked_until = NULL
    WHERE users.user_id = u.user_id;
    UPDATE auth_sessions SET ended_at = now() WHERE auth_sessions.user_id = u.user_id
                                                AND ended_at IS NULL;
END $$;

-- A deactivated user's sessions end at once (app_authenticate also checks users.active).
CREATE FUNCTION auth_end_sessions_of_inactive() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE auth_sessions SET ended_at = now() WHERE user_id = NEW.user_id AND ended_at IS NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER users_deactivated AFTER UPDATE OF active ON users FOR EACH ROW
    WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION auth_end_sessions_of_inactive();

DROP FUNCTION auth_user_for_login(text);
DROP FUNCTION auth_user_for_token(text);

REVOKE ALL ON FUNCTION app_authenticate(text), auth_require_owner_session(),
    app_act_as_system(), app_act_as_user(bigint), app_act_as_nobody(),
    auth_sign_in(text, text), auth_sign_out(text), auth_set_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_authenticate(text), app_act_as_system(), app_act_as_user(bigint),
    app_act_as_nobody(), auth_sign_in(text, text), auth_sign_out(text),
    auth_set_password(text, text), auth_token_hash(text) TO hardening_app;

-- Re-scoring after a visit or a completed order is system work; the service may only ask for
-- it (a system worker, `hardening risk drain`, does it). Asking needs the thing to be visible.
CREATE TABLE rescore_requests (
    request_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause        text NOT NULL CHECK (cause IN ('visit', 'measure')),
    object_id    bigint NOT NULL,
    requested_by bigint DEFAULT app_user_id(),
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz,
    outcome      text
);
CREATE INDEX rescore_requests_pending ON rescore_requests (request_id) WHERE done_at IS NULL;
ALTER TABLE rescore_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE rescore_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON rescore_requests TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY system_all ON rescore_requests FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
CREATE POLICY ask ON rescore_requests FOR INSERT TO hardening_app
    WITH CHECK (requested_by = (SELECT app_user_id()) AND done_at IS NULL AND (
        (cause = 'visit' AND EXISTS (SELECT 1 FROM visits v WHERE v.visit_id = object_id))
        OR (cause = 'measure' AND EXISTS (
            SELECT 1 FROM installed_measures m WHERE m.installed_id = object_id))));
