-- 024: app_authenticate writes auth_context once per request. It deleted the backend's row and
-- then upserted it; the upsert alone replaces it, so the delete is kept for a refused
-- credential only (which must leave no actor behind in the transaction).
CREATE OR REPLACE FUNCTION app_authenticate(p_credential text)
RETURNS TABLE (user_id bigint, org_id text, roles text[], username text, display_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    h text := auth_token_hash(p_credential);
    u users;
BEGIN
    SELECT us.* INTO u FROM api_tokens t JOIN users us ON us.user_id = t.user_id
    WHERE t.token_hash = h AND t.revoked_at IS NULL AND t.expires_at > now() AND us.active;
    IF u.user_id IS NULL THEN
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
    PERFORM auth_record_actor(u, false);
    RETURN QUERY SELECT u.user_id, u.org_id, u.roles, u.username, u.display_name;
END $$;
