-- 027_speed: risk scores are checked a statement at a time, not a row at a time.
--
-- A full run writes every dwelling's score and explanation: with the five row-level foreign
-- keys of risk_scores and risk_explanations that was a million trigger queries (about 9 s of a
-- 26 s run at 200,000 dwellings). The same rules now hold per statement, set-based:
--   - a score names an address, a model and (optionally) an area that exist; an explanation
--     names its score and an area that exist (checked after each INSERT or UPDATE statement);
--   - an address, model or area that scores or explanations still name cannot be deleted or
--     renamed (checked after each DELETE or UPDATE statement that makes a key vanish; the
--     check first waits for writers of scores in progress, as a row lock would make it wait);
--   - deleting a score deletes its explanation (ON DELETE CASCADE before).
-- The error is the same SQLSTATE (23503, foreign_key_violation). Writers of one model's scores
-- and explanations take the scoring lock (hardening.risk.scoring.lock, advisory 727004 with
-- the model's hashtext), so the checks of a score and of its explanation see each other.

ALTER TABLE risk_explanations
    DROP CONSTRAINT risk_explanations_uprn_model_version_fkey,
    DROP CONSTRAINT risk_explanations_area_id_fkey;
ALTER TABLE risk_scores
    DROP CONSTRAINT risk_scores_uprn_fkey,
    DROP CONSTRAINT risk_scores_model_version_fkey,
    DROP CONSTRAINT risk_scores_area_id_fkey;

CREATE FUNCTION risk_refused(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', what USING ERRCODE = 'foreign_key_violation';
END $$;

-- The scoring lock of each model the rows name, in one order (no deadlock between two of these).
CREATE FUNCTION risk_lock_models(models text[]) RETURNS void LANGUAGE sql AS $$
    SELECT count(pg_advisory_xact_lock(727004, hashtext(m)))::int * 0
    FROM (SELECT DISTINCT m FROM unnest(models) AS m ORDER BY 1) d
$$;

-- The checks are planned at each call (EXECUTE: a cached plan made for an empty statement's
-- transition tables would loop over 200,000 rows) and probe primary keys (enable_seqscan off:
-- a table's statistics lag when its rows were all written in this transaction, a first run).

-- Referencing side: what the statement's new rows name must exist.
CREATE FUNCTION risk_rows_check() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_seqscan = off AS $$
DECLARE
    bad text;
    changed boolean;
BEGIN
    -- an update that keeps every row's references (a re-score) has nothing to check
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (
                     SELECT 1 FROM old_rows o WHERE o.uprn = n.uprn
                        AND o.model_version = n.model_version
                        AND o.area_id IS NOT DISTINCT FROM n.area_id))' INTO changed;
        IF NOT changed THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'risk_scores' THEN
        EXECUTE 'SELECT format(''risk_scores: address %s is not present in addresses'', n.uprn)
                 FROM new_rows n
                 WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.uprn = n.uprn) LIMIT 1'
        INTO bad;
        IF bad IS NULL THEN
            EXECUTE 'SELECT format(''risk_scores: model %s is not present in risk_models'', m)
                     FROM (SELECT DISTINCT model_version AS m FROM new_rows) n
                     WHERE NOT EXISTS (SELECT 1 FROM risk_models r
                                       WHERE r.model_version = n.m) LIMIT 1'
            INTO bad;
        END IF;
    ELSE
        EXECUTE 'SELECT risk_lock_models(ARRAY(SELECT DISTINCT model_version FROM new_rows))';
        EXECUTE 'SELECT format(''risk_explanations: no score of address %s under model %s'',
                               n.uprn, n.model_version)
                 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM risk_scores s
                                                   WHERE s.uprn = n.uprn
                                                     AND s.model_version = n.model_version)
                 LIMIT 1'
        INTO bad;
    END IF;
    IF bad IS NULL THEN
        EXECUTE format('SELECT format(''%s: area %%s is not present in areas'', a)
                        FROM (SELECT DISTINCT area_id AS a FROM new_rows
                              WHERE area_id IS NOT NULL) n
                        WHERE NOT EXISTS (SELECT 1 FROM areas r WHERE r.area_id = n.a) LIMIT 1',
                       TG_TABLE_NAME)
        INTO bad;
    END IF;
    IF bad IS NOT NULL THEN
        PERFORM risk_refused(bad);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER risk_scores_refs_insert AFTER INSERT ON risk_scores
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_rows_check();
CREATE TRIGGER risk_scores_refs_update AFTER UPDATE ON risk_scores
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_rows_check();
CREATE TRIGGER risk_explanations_refs_insert AFTER INSERT ON risk_explanations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_rows_check();
CREATE TRIGGER risk_explanations_refs_update AFTER UPDATE ON risk_explanations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_rows_check();

-- A deleted score takes its explanation with it; a score whose key changed may not leave one
-- behind.
CREATE FUNCTION risk_scores_gone() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_seqscan = off AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM old_rows)' INTO found;
    IF NOT found THEN
        RETURN NULL;
    END IF;
    -- an update (a re-score) that keeps every key has nothing to check
    IF TG_OP = 'UPDATE' THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (
                     SELECT 1 FROM new_rows n WHERE n.uprn = o.uprn
                                                AND n.model_version = o.model_version))'
        INTO found;
        IF NOT found THEN
            RETURN NULL;
        END IF;
    END IF;
    EXECUTE 'SELECT risk_lock_models(ARRAY(SELECT DISTINCT model_version FROM old_rows))';
    IF TG_OP = 'DELETE' THEN
        EXECUTE 'DELETE FROM risk_explanations e USING old_rows o
                 WHERE e.uprn = o.uprn AND e.model_version = o.model_version';
    ELSE
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM old_rows o JOIN risk_explanations e
                     ON e.uprn = o.uprn AND e.model_version = o.model_version
                     WHERE NOT EXISTS (SELECT 1 FROM risk_scores s WHERE s.uprn = o.uprn
                                       AND s.model_version = o.model_version))'
        INTO found;
        IF found THEN
            PERFORM risk_refused('risk_scores: a changed score key would leave its explanation');
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER risk_scores_gone_delete AFTER DELETE ON risk_scores
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_scores_gone();
CREATE TRIGGER risk_scores_gone_update AFTER UPDATE ON risk_scores
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_scores_gone();

-- Referenced side: an address, model or area whose key vanished must not be named by a score
-- or an explanation. Only a vanished key waits (SHARE lock: for writers of scores to commit)
-- and looks, so plain updates of addresses cost one anti-join.
CREATE FUNCTION risk_referenced_gone() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_seqscan = off AS $$
DECLARE
    bad text;
    key text := CASE TG_TABLE_NAME WHEN 'addresses' THEN 'uprn'
                                   WHEN 'risk_models' THEN 'model_version' ELSE 'area_id' END;
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS
                        (SELECT 1 FROM %I t WHERE t.%I = o.%I))', TG_TABLE_NAME, key, key)
    INTO found;
    IF NOT found THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'areas' THEN
        LOCK TABLE risk_scores, risk_explanations IN SHARE MODE;
    ELSE
        LOCK TABLE risk_scores IN SHARE MODE;
    END IF;
    EXECUTE format('SELECT format(''%s: %%s is still named by risk scores'', o.%I)
                    FROM old_rows o
                    WHERE NOT EXISTS (SELECT 1 FROM %I t WHERE t.%I = o.%I)
                      AND (EXISTS (SELECT 1 FROM risk_scores s WHERE s.%I = o.%I)%s)
                    LIMIT 1', TG_TABLE_NAME, key, TG_TABLE_NAME, key, key, key, key,
                   CASE WHEN TG_TABLE_NAME = 'areas' THEN ' OR EXISTS (SELECT 1 FROM '
                        'risk_explanations e WHERE e.area_id = o.area_id)' ELSE '' END)
    INTO bad;
    IF bad IS NOT NULL THEN
        PERFORM risk_refused(bad);
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['addresses', 'risk_models', 'areas'] LOOP
        FOREACH op IN ARRAY ARRAY['delete', 'update'] LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I REFERENCING OLD TABLE AS old_rows '
                           'FOR EACH STATEMENT EXECUTE FUNCTION risk_referenced_gone()',
                           'risk_refs_' || op, upper(op), t);
        END LOOP;
    END LOOP;
END $$;

-- Room on every page for a re-score's new row versions: updates that touch no indexed column
-- stay on their page (HOT) and add no index entries. CLUSTER rewrites the rows already there.
ALTER TABLE risk_scores SET (fillfactor = 45);
ALTER TABLE risk_explanations SET (fillfactor = 45);
CLUSTER risk_scores USING risk_scores_pkey;
CLUSTER risk_explanations USING risk_explanations_pkey;

REVOKE ALL ON FUNCTION risk_refused(text), risk_lock_models(text[]), risk_rows_check(),
    risk_scores_gone(), risk_referenced_gone() FROM PUBLIC;
