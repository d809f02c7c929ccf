-- 026: clients that cannot send a bearer token or a reason (QGIS, GDAL, git-style clients).
--
-- 1. A token may carry a standing purpose ("Operation X, ref 123"): reads made with it and no
--    per-request reason are audited with that purpose. app_authenticate records it in
--    auth_context beside the actor, so the purpose is the database's word, never the caller's.
-- 2. HTTP Basic where the password is an API token of the named user
--    (app_authenticate_basic). An account password is never checked here. Wrong tries count
--    towards the same guard as sign-in (users.failed_sign_ins / locked_until): five in a row
--    lock the account for fifteen minutes, for Basic and sign-in alike.

ALTER TABLE api_tokens ADD COLUMN purpose text
    CONSTRAINT api_tokens_purpose CHECK (purpose IS NULL OR (
        length(trim(purpose)) >= 3 AND length(purpose) <= 500 AND audit_text_printable(purpose)));

ALTER TABLE auth_context ADD COLUMN purpose text;

-- One writer of auth_context, now with the token's purpose (NULL for everything else). The
-- callers (021-024) pass two arguments; plpgsql resolves them at run time to this one.
DROP FUNCTION auth_record_actor(users, boolean);
CREATE FUNCTION auth_record_actor(p_user users, p_system boolean, p_purpose text DEFAULT NULL)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO auth_context (pid, xact_start, user_id, org_id, roles, username, is_system,
                              purpose)
    VALUES (pg_backend_pid(), now(), p_user.user_id, p_user.org_id,
            coalesce(p_user.roles, '{}'), coalesce(p_user.username, 'system'), p_system,
            p_purpose)
    ON CONFLICT (pid) DO UPDATE SET xact_start = EXCLUDED.xact_start,
        user_id = EXCLUDED.user_id, org_id = EXCLUDED.org_id, roles = EXCLUDED.roles,
        username = EXCLUDED.username, is_system = EXCLUDED.is_system,
        purpose = EXCLUDED.purpose
$$;
REVOKE ALL ON FUNCTION auth_record_actor(users, boolean, text) FROM PUBLIC;

-- The standing purpose of the token this transaction authenticated with, if any.
CREATE FUNCTION app_purpose() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT c.purpose FROM public.auth_context c
    WHERE c.pid = pg_catalog.pg_backend_pid() AND c.xact_start = pg_catalog.now()
$$;

-- As 024, and an API token's purpose goes into auth_context with the actor.
CREATE OR REPLACE FUNCTION app_authenticate(p_credential text)
RETURNS TABLE (user_id bigint, org_id text, roles text[], username text, display_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    h text := auth_token_hash(p_credential);
    u users;
    why text;
BEGIN
    SELECT us.* INTO u FROM api_tokens t JOIN users us ON us.user_id = t.user_id
    WHERE t.token_hash = h AND t.revoked_at IS NULL AND t.expires_at > now() AND us.active;
    IF FOUND THEN
        -- Most tokens have none; the unique index answers at once.
        SELECT t.purpose INTO why FROM api_tokens t WHERE t.token_hash = h;
    ELSE
        SELECT us.* INTO u FROM auth_sessions s JOIN users us ON us.user_id = s.user_id
        WHERE s.token_hash = h AND s.ended_at IS NULL AND s.expires_at > now()
          AND s.last_seen_at > now() - auth_session_idle() AND us.active;
        IF u.user_id IS NULL THEN
            DELETE FROM auth_context c WHERE c.pid = pg_backend_pid();
            RETURN;
        END IF;
        -- At most one write a minute per session: the idle clock needs no finer grain.
        UPDATE auth_sessions s SET last_seen_at = now()
        WHERE s.token_hash = h AND s.last_seen_at < now() - interval '1 minute';
    END IF;
    PERFORM auth_record_actor(u, false, why);
    RETURN QUERY SELECT u.user_id, u.org_id, u.roles, u.username, u.display_name;
END $$;

-- HTTP Basic: the username and one of that user's live API tokens (never a sign-in session,
-- never the account password). Outcomes: ok (the actor is recorded), wrong, locked (until when).
CREATE FUNCTION app_authenticate_basic(p_username text, p_token text)
RETURNS TABLE (outcome text, user_id bigint, org_id text, roles text[], username text,
               display_name text, locked_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u users;
    why text;
    ok boolean;
BEGIN
    SELECT * INTO u FROM users WHERE users.username = p_username;
    IF u.user_id IS NULL THEN
        DELETE FROM auth_context c WHERE c.pid = pg_backend_pid();  -- no actor left behind
        RETURN QUERY SELECT 'wrong', NULL::bigint, NULL::text, NULL::text[], NULL::text,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    IF u.locked_until > now() THEN
        DELETE FROM auth_context c WHERE c.pid = pg_backend_pid();
        RETURN QUERY SELECT 'locked', NULL::bigint, NULL::text, NULL::text[], NULL::text,
                            NULL::text, u.locked_until;
        RETURN;
    END IF;
    SELECT true, t.purpose INTO ok, why FROM api_tokens t
    WHERE t.token_hash = auth_token_hash(coalesce(p_token, '')) AND t.user_id = u.user_id
      AND t.revoked_at IS NULL AND t.expires_at > now();
    IF ok IS NULL OR NOT u.active THEN
        DELETE FROM auth_context c WHERE c.pid = pg_backend_pid();
        UPDATE users SET
            failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= 5 THEN 0
                                   ELSE failed_sign_ins + 1 END,
            locked_until = CASE WHEN failed_sign_ins + 1 >= 5
                                THEN now() + interval '15 minutes' END
        WHERE users.user_id = u.user_id;
        RETURN QUERY SELECT 'wrong', NULL::bigint, NULL::text, NULL::text[], NULL::text,
                            NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    -- Clients send Basic on every request: write the guard only when it has counted something.
    IF u.failed_sign_ins > 0 OR u.locked_until IS NOT NULL THEN
        UPDATE users SET failed_sign_ins = 0, locked_until = NULL
        WHERE users.user_id = u.user_id;
    END IF;
    PERFORM auth_record_actor(u, false, why);
    RETURN QUERY SELECT 'ok', u.user_id, u.org_id, u.roles, u.username, u.display_name,
                        NULL::timestamptz;
END $$;

REVOKE ALL ON FUNCTION app_purpose(), app_authenticate_basic(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_purpose(), app_authenticate_basic(text, text) TO hardening_app;
