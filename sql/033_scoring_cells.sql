-- 033_scoring_cells: a full scoring run counts its model's map squares once, at its end.
--
-- risk_cells_track (012) nets every statement's rows per dwelling and rolls them up to every
-- square size: for a full run at 200,000 dwellings that was about half of the run (the insert
-- of a first run, the netting of 200,000 old and new rows of a re-score). A full run now
-- announces its model and area (risk_cells_defer); statements whose rows all fall in an
-- announced model and area skip the trigger's work, and risk_cells_rebuild then replaces those
-- squares with a count of the stored scores (the counts still come from the tables, never from
-- the caller). A transaction that announces and does not rebuild gets its rebuild at commit
-- (deferred constraint trigger), so the squares never miss a score.

CREATE TABLE risk_cells_pending (
    model_version text NOT NULL,
    area_id       text,  -- NULL: every area (and no area)
    xact          xid8 NOT NULL DEFAULT pg_current_xact_id()
);
REVOKE ALL ON risk_cells_pending FROM hardening_app;

-- Replace the squares of every model and area announced in this transaction.
CREATE FUNCTION risk_cells_rebuild() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET enable_nestloop = off AS $$
DECLARE
    p record;
BEGIN
    FOR p IN WITH done AS (DELETE FROM risk_cells_pending WHERE xact = pg_current_xact_id()
                           RETURNING model_version, area_id)
             SELECT DISTINCT model_version, area_id FROM done ORDER BY 1, 2 LOOP
        DELETE FROM risk_cells c WHERE c.model_version = p.model_version
            AND (p.area_id IS NULL OR c.area_id = p.area_id);
        WITH fifty AS (  -- per 50 m square first: a tenth of the rows to roll up
            SELECT floor(ST_X(a.geom) / 50)::integer AS ix, floor(ST_Y(a.geom) / 50)::integer AS iy,
                   coalesce(s.area_id, '') AS area_id, count(*)::integer AS n,
                   sum(s.score) AS score,
                   count(*) FILTER (WHERE s.band IN ('high', 'very_high'))::integer AS high
            FROM risk_scores s JOIN addresses a ON a.uprn = s.uprn
            WHERE s.model_version = p.model_version
              AND (p.area_id IS NULL OR s.area_id = p.area_id)
              AND a.property_type NOT IN ('block', 'commercial')  -- not scored (011)
            GROUP BY 1, 2, 3
        ), rolled AS (
            SELECT z.c AS cell_m, f.ix * 50 / z.c AS ix, f.iy * 50 / z.c AS iy, f.area_id,
                   sum(f.n)::integer AS n, sum(f.score) AS score, sum(f.high)::integer AS high
            FROM fifty f, unnest(tile_cell_sizes()) AS z(c)
            GROUP BY 1, 2, 3, 4
        ), outlines AS (
            INSERT INTO tile_squares (cell_m, ix, iy, geom)
            SELECT r.cell_m, r.ix, r.iy, tile_square(r.cell_m, r.ix, r.iy)
            FROM (SELECT DISTINCT cell_m, ix, iy FROM rolled) r
            WHERE NOT EXISTS (SELECT 1 FROM tile_squares q
                              WHERE q.cell_m = r.cell_m AND q.iy = r.iy AND q.ix = r.ix)
            ORDER BY 1, 3, 2
            ON CONFLICT DO NOTHING
        )
        INSERT INTO risk_cells (model_version, cell_m, ix, iy, area_id, n, score_sum, high)
        SELECT p.model_version, cell_m, ix, iy, area_id, n, score, high FROM rolled
        ORDER BY 2, 4, 3, 5;
    END LOOP;
END $$;

-- Announce a full run of model over area (NULL: every area) in this transaction.
CREATE FUNCTION risk_cells_defer(model text, area text) RETURNS void LANGUAGE sql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO risk_cells_pending (model_version, area_id) VALUES (model, area)
$$;

CREATE FUNCTION risk_cells_at_commit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM risk_cells_rebuild();  -- nothing left to do when the run rebuilt already
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER risk_cells_pending_commit AFTER INSERT ON risk_cells_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION risk_cells_at_commit();

-- Every (model, area) of these rows announced in this transaction?
CREATE FUNCTION risk_cells_covered(models text[], areas text[]) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM unnest(models, areas) AS r(model_version, area_id)
        WHERE NOT EXISTS (SELECT 1 FROM risk_cells_pending p
                          WHERE p.xact = pg_current_xact_id()
                            AND p.model_version = r.model_version
                            AND (p.area_id IS NULL OR p.area_id = r.area_id)))
$$;

-- As 012, but a statement wholly inside an announced full run leaves its squares to the rebuild.
CREATE OR REPLACE FUNCTION risk_cells_track() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    models text[];
    areas text[];
BEGIN
    IF TG_OP <> 'TRUNCATE' AND EXISTS (SELECT 1 FROM risk_cells_pending
                                       WHERE xact = pg_current_xact_id()) THEN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(model_version), array_agg(area_id) INTO models, areas
            FROM (SELECT DISTINCT model_version, area_id FROM new_rows) r;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(model_version), array_agg(area_id) INTO models, areas
            FROM (SELECT DISTINCT model_version, area_id FROM old_rows) r;
        ELSE
            SELECT array_agg(model_version), array_agg(area_id) INTO models, areas
            FROM (SELECT model_version, area_id FROM new_rows
                  UNION SELECT model_version, area_id FROM old_rows) r;
        END IF;
        IF risk_cells_covered(models, areas) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM risk_cells;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM risk_cells_apply(array_agg(model_version), array_agg(ix), array_agg(iy),
                                 array_agg(area_id), array_agg(n), array_agg(score),
                                 array_agg(high))
        FROM (SELECT r.model_version, floor(ST_X(a.geom) / 50)::integer AS ix,
                     floor(ST_Y(a.geom) / 50)::integer AS iy, r.area_id, sum(r.d)::integer AS n,
                     sum(r.score) AS score, sum(r.high)::integer AS high
              FROM (SELECT uprn, model_version, area_id, 1 AS d, score,
                           (band IN ('high', 'very_high'))::integer AS high FROM new_rows) r
                   JOIN addresses a ON a.uprn = r.uprn
              WHERE a.property_type NOT IN ('block', 'commercial')
              GROUP BY 1, 2, 3, 4) g;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM risk_cells_apply(array_agg(model_version), array_agg(ix), array_agg(iy),
                                 array_agg(area_id), array_agg(n), array_agg(score),
                                 array_agg(high))
        FROM (SELECT r.model_version, floor(ST_X(a.geom) / 50)::integer AS ix,
                     floor(ST_Y(a.geom) / 50)::integer AS iy, r.area_id, sum(r.d)::integer AS n,
                     sum(r.score) AS score, sum(r.high)::integer AS high
              FROM (SELECT uprn, model_version, area_id, -1 AS d, -score AS score,
                           -(band IN ('high', 'very_high'))::integer AS high FROM old_rows) r
                   JOIN addresses a ON a.uprn = r.uprn
              WHERE a.property_type NOT IN ('block', 'commercial')
              GROUP BY 1, 2, 3, 4) g;
    ELSE
        PERFORM risk_cells_apply(array_agg(model_version), array_agg(ix), array_agg(iy),
                                 array_agg(area_id), array_agg(n), array_agg(score),
                                 array_agg(high))
        FROM (SELECT r.model_version, floor(ST_X(a.geom) / 50)::integer AS ix,
                     floor(ST_Y(a.geom) / 50)::integer AS iy, r.area_id, sum(r.d)::integer AS n,
                     sum(r.score) AS score, sum(r.high)::integer AS high
              FROM (SELECT uprn, model_version, area_id, sum(d)::integer AS d, sum(score) AS score,
                           sum(high)::integer AS high
                    FROM (SELECT uprn, model_version, area_id, 1 AS d, score,
                                 (band IN ('high', 'very_high'))::integer AS high FROM new_rows
                          UNION ALL
                          SELECT uprn, model_version, area_id, -1, -score,
                                 -(band IN ('high', 'very_high'))::integer FROM old_rows) x
                    GROUP BY 1, 2, 3
                    HAVING sum(d) <> 0 OR sum(high) <> 0 OR abs(sum(score)) > 1e-9) r
                   JOIN addresses a ON a.uprn = r.uprn
              WHERE a.property_type NOT IN ('block', 'commercial')
              GROUP BY 1, 2, 3, 4) g;
    END IF;
    RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION risk_cells_rebuild(), risk_cells_defer(text, text), risk_cells_at_commit(),
    risk_cells_covered(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION risk_cells_rebuild(), risk_cells_defer(text, text) TO hardening_app;
