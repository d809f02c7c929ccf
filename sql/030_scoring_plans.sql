-- 030_scoring_plans: the statement-level reference checks of 027 plan for the rows at hand.
--
-- Their queries probe primary keys (enable_seqscan off, 027), but a table written in this
-- transaction may still have the statistics of an empty one: after every score of a model had
-- been deleted, a full run's check of 200,000 new explanations was planned as a nested loop over
-- an index scan of risk_scores "of one row", re-read for each row (over ten minutes, 200k x 200k).
-- A statement of many rows is now checked with hash joins (nested loops off for the call);
-- a few rows (an incremental re-score) keep their key probes.

CREATE OR REPLACE FUNCTION risk_rows_check() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_seqscan = off SET enable_nestloop = on AS $$
DECLARE
    bad text;
    changed boolean;
    many boolean;
BEGIN
    -- many rows: hash joins (nested loops stay off until the function returns, its SET)
    EXECUTE 'SELECT count(*) > 5000 FROM (SELECT 1 FROM new_rows LIMIT 5001) r' INTO many;
    IF many THEN
        PERFORM set_config('enable_nestloop', 'off', true);
    END IF;
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

CREATE OR REPLACE FUNCTION risk_scores_gone() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_seqscan = off SET enable_nestloop = on AS $$
DECLARE
    found boolean;
    many boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM old_rows)' INTO found;
    IF NOT found THEN
        RETURN NULL;
    END IF;
    -- many rows: hash joins (nested loops stay off until the function returns, its SET)
    EXECUTE 'SELECT count(*) > 5000 FROM (SELECT 1 FROM old_rows LIMIT 5001) r' INTO many;
    IF many THEN
        PERFORM set_config('enable_nestloop', 'off', true);
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
