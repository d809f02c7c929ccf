-- 034_risk_squares: one risk grid. The Risk page (hardening.risk.layer), the OGC collection
-- `risk-cells` (hardening.features.collections) and the vector tiles' risk squares
-- (hardening.tiles.layers) each counted dwellings per BNG square their own way: the page in
-- Python-built SQL over the scores it could read, the collection over every address
-- (risk_grid_counts, 011), the tiles over the pre-counted risk_cells (tile_risk_cells, 012).
-- Now one function answers "the risk squares of size cell_m in a box (or area)", in one of two
-- forms chosen by the output, not the actor (an analyst gets both, as today):
--
-- * exact (published = false): the score rows row-level security lets the actor read, counted
--   per square (police their areas, a housing provider its own homes, planners nothing), with
--   the highest band, and the mean and highest score only for those who read risk factors
--   (app_reads_risk_factors(), police). For the Risk page: no disclosure control, as the actor
--   may read every row counted anyway.
-- * published (published = true): disclosure-controlled counts from the pre-counted risk_cells
--   (kept by risk_cells_track, 012/033), for the system and for planners, analysts and admins
--   whose agreement grants aggregates or risk bands (risk_grid_allowed(), 011), dwellings in
--   their agreement areas only: squares under 10 scored dwellings left out, counts rounded to 5,
--   `high` withheld (NULL) under 10, the mean score to one decimal. For what leaves the service
--   or must be fast: OGC items and exports, tiles. Sizes: those risk_cells keeps
--   (tile_cell_sizes(): 50 m .. 100 km); `outline` is the square as tiles draw it.
--
-- A square is ix = floor(x / cell_m), iy = floor(y / cell_m) and is always counted whole: the
-- box picks squares whose index range it covers, so moving a box edge cannot single out the
-- homes on one side of it. Dwellings are the dwellings scored (blocks and commercial premises are
-- never scored). The model is the one given, else risk_model_shown().

CREATE FUNCTION risk_model_shown() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
$$;

-- SECURITY DEFINER: planners read no score row, and the application role cannot read
-- risk_cells or tile_squares at all; only disclosure-controlled values leave. `outline` is the
-- square in Web Mercator as tiles draw it (tile_squares, 012; computed if it is missing).
CREATE FUNCTION risk_squares_published(cell_m integer, x0 float8, y0 float8, x1 float8,
                                       y1 float8, area text, model text)
RETURNS TABLE (ix integer, iy integer, dwellings integer, high integer, mean_score float8,
               outline geometry)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT p.ix, p.iy, p.dwellings, p.high, p.mean_score,
           coalesce(q.geom, tile_square(risk_squares_published.cell_m, p.ix, p.iy))
    FROM (SELECT c.ix, c.iy, (5 * ((sum(c.n) + 2) / 5))::integer AS dwellings,
                 CASE WHEN sum(c.high) >= 10 THEN (5 * ((sum(c.high) + 2) / 5))::integer END
                     AS high,
                 round((sum(c.score_sum) / sum(c.n))::numeric, 1)::float8 AS mean_score
    FROM risk_cells c
    WHERE (SELECT risk_grid_allowed())
      AND c.model_version = coalesce(model, (SELECT risk_model_shown()))
      AND c.cell_m = risk_squares_published.cell_m
      AND ((SELECT app_is_system()) OR c.area_id = ANY((SELECT app_areas())::text[]))
      AND (area IS NULL OR c.area_id = area)
      -- without a box, all of the grid: the bounds stay index conditions either way
      AND c.iy BETWEEN floor(coalesce(y0, 0) / risk_squares_published.cell_m)::integer
                    AND floor(coalesce(y1, 2097151) / risk_squares_published.cell_m)::integer
      AND c.ix BETWEEN floor(coalesce(x0, 0) / risk_squares_published.cell_m)::integer
                    AND floor(coalesce(x1, 2097151) / risk_squares_published.cell_m)::integer
    GROUP BY c.ix, c.iy
    HAVING sum(c.n) >= 10) p
    LEFT JOIN tile_squares q
           ON q.cell_m = risk_squares_published.cell_m AND q.iy = p.iy AND q.ix = p.ix
$$;

-- Plain SQL, inlined into the caller's query: the branch not asked for is pruned (tiles pay a
-- few tenths of a millisecond of planning for it). Exact: run as the actor, so row-level
-- security picks the rows.
CREATE FUNCTION risk_squares(cell_m integer, x0 float8 DEFAULT NULL, y0 float8 DEFAULT NULL,
                             x1 float8 DEFAULT NULL, y1 float8 DEFAULT NULL,
                             area text DEFAULT NULL, model text DEFAULT NULL,
                             published boolean DEFAULT false)
RETURNS TABLE (ix integer, iy integer, dwellings integer, high integer, band text,
               mean_score float8, max_score float8, outline geometry)
LANGUAGE sql STABLE AS $$
    SELECT p.ix, p.iy, p.dwellings, p.high, NULL::text, p.mean_score, NULL::float8, p.outline
    FROM risk_squares_published(cell_m, x0, y0, x1, y1, area, model) p
    WHERE published
    UNION ALL
    SELECT e.ix, e.iy, e.dwellings, e.high,
           (ARRAY['low', 'medium', 'high', 'very_high'])[e.top_band],
           CASE WHEN (SELECT app_reads_risk_factors()) THEN e.mean_score END,
           CASE WHEN (SELECT app_reads_risk_factors()) THEN e.max_score END, NULL::geometry
    FROM (SELECT floor(ST_X(a.geom) / cell_m)::integer AS ix,
                 floor(ST_Y(a.geom) / cell_m)::integer AS iy,
                 count(*)::integer AS dwellings,
                 (count(*) FILTER (WHERE s.band IN ('high', 'very_high')))::integer AS high,
                 max(CASE s.band WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3
                                 ELSE 4 END) AS top_band,
                 avg(s.score)::float8 AS mean_score, max(s.score)::float8 AS max_score
          FROM risk_scores s JOIN addresses a ON a.uprn = s.uprn
          WHERE NOT published
            AND cell_m BETWEEN 50 AND 100000
            AND s.model_version = coalesce(model, (SELECT risk_model_shown()))
            AND (area IS NULL OR s.area_id = area)
            AND (x0 IS NULL OR (floor(ST_Y(a.geom) / cell_m) BETWEEN floor(y0 / cell_m)
                                                                 AND floor(y1 / cell_m)
                                AND floor(ST_X(a.geom) / cell_m) BETWEEN floor(x0 / cell_m)
                                                                 AND floor(x1 / cell_m)))
          GROUP BY 1, 2) e
$$;

-- The three it replaces. risk_grid_allowed() stays: the collection's may_read and the tiles
-- ask it (tile_risk_allowed() was the same predicate under a second name).
DROP FUNCTION risk_grid_counts(integer, geometry);
DROP FUNCTION tile_risk_cells(integer, float8, float8, float8, float8);
DROP FUNCTION tile_risk_allowed();

REVOKE ALL ON FUNCTION risk_squares_published(integer, float8, float8, float8, float8, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION risk_model_shown(),
    risk_squares_published(integer, float8, float8, float8, float8, text, text),
    risk_squares(integer, float8, float8, float8, float8, text, text, boolean)
    TO hardening_app;
