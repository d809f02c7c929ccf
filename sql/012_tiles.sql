-- 012_tiles: what vector tiles (hardening/tiles, /v1/tiles/...) need to answer in milliseconds
-- over a million addresses.
--
-- * tile_key on addresses, safe_markers and work_orders: a Z-order (Morton) key of the point's
--   whole metres of BNG, with a btree index. Under row-level security the planner may not use
--   the GiST index for `geom && box` (PostGIS operators are not leakproof, so they run after the
--   policy, on every row it lets through); integer comparisons are leakproof, so a box becomes
--   a few key ranges of this index and `&&` only refines what they return. Point tiles
--   (addresses, risk scores, markers, works) read their rows this way, as the actor.
-- * address_cells and risk_cells: address counts and risk-score sums per square of the BNG
--   grid at six sizes (50 m .. 100 km), kept current by statement triggers, so a low-zoom tile
--   reads a few hundred pre-counted squares instead of aggregating up to a million points;
--   tile_squares holds each square's outline in Web Mercator, computed once.
--   Raw counts: the application role cannot read these tables at all; it calls the SECURITY
--   DEFINER functions below, which publish only disclosure-controlled values (squares under 10
--   suppressed, counts rounded to 5: hardening.security.disclosure's THRESHOLD and ROUNDING).

-- Morton key ------------------------------------------------------------------------------------
CREATE FUNCTION bng_spread(v bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    v := v & 2097151;                                   -- 21 bits: 2^21 m > 1,300,000 m
    v := (v | (v << 16)) & 281470681808895;             -- 0x0000FFFF0000FFFF
    v := (v | (v << 8)) & 71777214294589695;            -- 0x00FF00FF00FF00FF
    v := (v | (v << 4)) & 1085102592571150095;          -- 0x0F0F0F0F0F0F0F0F
    v := (v | (v << 2)) & 3689348814741910323;          -- 0x3333333333333333
    RETURN (v | (v << 1)) & 6148914691236517205;        -- 0x5555555555555555
END $$;

-- Easting in the even bits, northing in the odd ones (hardening.tiles.keys.morton). NULL off
-- the grid (NaN, negative, empty): the column's CHECK then names the bad geometry.
CREATE FUNCTION bng_morton(g geometry) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN ST_X(g) >= 0 AND ST_X(g) < 2097152 AND ST_Y(g) >= 0 AND ST_Y(g) < 2097152
                THEN bng_spread(floor(ST_X(g))::bigint) | (bng_spread(floor(ST_Y(g))::bigint) << 1)
           END
$$;

ALTER TABLE addresses ADD COLUMN tile_key bigint GENERATED ALWAYS AS (bng_morton(geom)) STORED;
CREATE INDEX addresses_tile_key ON addresses (tile_key);

-- Markers and work orders get the same key from their address's point: markers already carry
-- it (005); work orders get it copied the same way, and follow their address when it moves.
ALTER TABLE safe_markers ADD COLUMN tile_key bigint
    GENERATED ALWAYS AS (bng_morton(geom)) STORED;
CREATE INDEX safe_markers_tile_key ON safe_markers (tile_key);

ALTER TABLE work_orders ADD COLUMN geom geometry(Point, 27700) CHECK (bng_geometry_ok(geom));
ALTER TABLE work_orders ADD COLUMN tile_key bigint
    GENERATED ALWAYS AS (bng_morton(geom)) STORED;
UPDATE work_orders w SET geom = a.geom FROM addresses a WHERE a.uprn = w.uprn;
CREATE INDEX work_orders_tile_key ON work_orders (tile_key);

-- SECURITY DEFINER: the provider raising an order may see its home, but the point is the
-- database's to copy, never the client's to send.
CREATE FUNCTION work_order_point() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    NEW.geom := (SELECT geom FROM addresses WHERE uprn = NEW.uprn);
    RETURN NEW;
END $$;
CREATE TRIGGER work_order_point BEFORE INSERT OR UPDATE OF uprn, geom ON work_orders
    FOR EACH ROW EXECUTE FUNCTION work_order_point();

CREATE FUNCTION address_moves_works() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE work_orders SET geom = NEW.geom WHERE uprn = NEW.uprn;
    RETURN NULL;
END $$;
CREATE TRIGGER address_moves_works AFTER UPDATE OF geom ON addresses
    FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom)
    EXECUTE FUNCTION address_moves_works();
REVOKE ALL ON FUNCTION work_order_point(), address_moves_works() FROM PUBLIC;

-- Pre-counted grid squares ------------------------------------------------------------------------
-- The sizes a tile may ask for (hardening.tiles.grid.CELL_LADDER), each a multiple of the one
-- before, so a 50 m square's counts roll up into every larger one: ix, iy = floor(x / size).
CREATE FUNCTION tile_cell_sizes() RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{50,250,1000,5000,25000,100000}'::integer[] $$;

CREATE FUNCTION tile_cells_of(g geometry) RETURNS TABLE (cell_m integer, ix integer, iy integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT c, floor(ST_X(g) / c)::integer, floor(ST_Y(g) / c)::integer
    FROM unnest(tile_cell_sizes()) AS c
$$;

-- Each square once, in Web Mercator as tiles draw it: transformed when first counted, not in
-- every tile that shows it. Big squares get extra vertices so their edges follow BNG's curve.
-- Geography only, no counts.
CREATE TABLE tile_squares (
    cell_m integer NOT NULL,
    ix     integer NOT NULL,
    iy     integer NOT NULL,
    geom   geometry(Polygon, 3857) NOT NULL CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    PRIMARY KEY (cell_m, iy, ix)
);

CREATE FUNCTION tile_square(cell_m integer, ix integer, iy integer) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(ix::float8 * cell_m, iy::float8 * cell_m,
           (ix + 1)::float8 * cell_m, (iy + 1)::float8 * cell_m, 27700),
           greatest(cell_m / 4, 1000)), 3857)
$$;

CREATE TABLE address_cells (
    cell_m  integer NOT NULL,
    ix      integer NOT NULL,
    iy      integer NOT NULL,
    area_id text NOT NULL DEFAULT '',   -- '' for addresses without an area
    n       integer NOT NULL,  -- no CHECK: ON CONFLICT tests it on the negative delta row
    PRIMARY KEY (cell_m, iy, ix, area_id)
);

CREATE TABLE risk_cells (
    model_version text NOT NULL,
    cell_m        integer NOT NULL,
    ix            integer NOT NULL,
    iy            integer NOT NULL,
    area_id       text NOT NULL DEFAULT '',
    n             integer NOT NULL,
    score_sum     double precision NOT NULL,
    high          integer NOT NULL,   -- dwellings in band high or very_high
    PRIMARY KEY (model_version, cell_m, iy, ix, area_id)
);

-- Raw counts: nobody but the owner (and its definer functions) reads or writes them.
REVOKE ALL ON address_cells, risk_cells, tile_squares FROM hardening_app;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['address_cells', 'risk_cells', 'tile_squares'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
    END LOOP;
END $$;

-- Applying counts: the caller groups its rows by 50 m square (a million addresses are about a
-- hundred thousand squares), these roll them up to every size, add the new squares' outlines
-- and add the deltas in key order, so concurrent writers lock squares in the same order.
-- Deltas that cancel (an update that moved nothing) write nothing; squares that fall to 0 stay
-- as 0 (readers skip them).
CREATE FUNCTION address_cells_apply(ix50 integer[], iy50 integer[], areas text[], d integer[])
RETURNS void LANGUAGE sql AS $$
    WITH rolled AS (
        SELECT s.c AS cell_m, b.ix * 50 / s.c AS ix, b.iy * 50 / s.c AS iy,
               coalesce(b.area_id, '') AS area_id, sum(b.d)::integer AS d
        FROM unnest(ix50, iy50, areas, d) AS b(ix, iy, area_id, d),
             unnest(tile_cell_sizes()) AS s(c)
        GROUP BY 1, 2, 3, 4 HAVING sum(b.d) <> 0
    ), outlines AS (
        INSERT INTO tile_squares (cell_m, ix, iy, geom)
        SELECT r.cell_m, r.ix, r.iy, tile_square(r.cell_m, r.ix, r.iy)
        FROM (SELECT DISTINCT cell_m, ix, iy FROM rolled) r
        WHERE NOT EXISTS (SELECT 1 FROM tile_squares q
                          WHERE q.cell_m = r.cell_m AND q.iy = r.iy AND q.ix = r.ix)
        ORDER BY 1, 3, 2
        ON CONFLICT DO NOTHING
    )
    INSERT INTO address_cells AS t (cell_m, ix, iy, area_id, n)
    SELECT cell_m, ix, iy, area_id, d FROM rolled ORDER BY 1, 3, 2, 4
    ON CONFLICT (cell_m, iy, ix, area_id) DO UPDATE SET n = t.n + EXCLUDED.n
$$;

-- One row per model, 50 m square and area: dwellings (+ or -), score sum, high or very high.
CREATE FUNCTION risk_cells_apply(models text[], ix50 integer[], iy50 integer[], areas text[],
                                 d integer[], scores float8[], highs integer[]) RETURNS void
LANGUAGE sql AS $$
    WITH rolled AS (
        SELECT b.model_version, s.c AS cell_m, b.ix * 50 / s.c AS ix, b.iy * 50 / s.c AS iy,
               coalesce(b.area_id, '') AS area_id, sum(b.d)::integer AS d,
               sum(b.score) AS score, sum(b.high)::integer AS high
        FROM unnest(models, ix50, iy50, areas, d, scores, highs)
                 AS b(model_version, ix, iy, area_id, d, score, high),
             unnest(tile_cell_sizes()) AS s(c)
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(b.d) <> 0 OR sum(b.high) <> 0 OR abs(sum(b.score)) > 1e-9
    ), outlines AS (
        INSERT INTO tile_squares (cell_m, ix, iy, geom)
        SELECT r.cell_m, r.ix, r.iy, tile_square(r.cell_m, r.ix, r.iy)
        FROM (SELECT DISTINCT cell_m, ix, iy FROM rolled) r
        WHERE NOT EXISTS (SELECT 1 FROM tile_squares q
                          WHERE q.cell_m = r.cell_m AND q.iy = r.iy AND q.ix = r.ix)
        ORDER BY 1, 3, 2
        ON CONFLICT DO NOTHING
    )
    INSERT INTO risk_cells AS t (model_version, cell_m, ix, iy, area_id, n, score_sum, high)
    SELECT model_version, cell_m, ix, iy, area_id, d, score, high FROM rolled
    ORDER BY 1, 2, 4, 3, 5
    ON CONFLICT (model_version, cell_m, iy, ix, area_id) DO UPDATE
        SET n = t.n + EXCLUDED.n, high = t.high + EXCLUDED.high,
            score_sum = CASE WHEN t.n + EXCLUDED.n = 0 THEN 0
                             ELSE t.score_sum + EXCLUDED.score_sum END
$$;

-- What is already there, counted the same way.
SELECT address_cells_apply(array_agg(ix), array_agg(iy), array_agg(area_id), array_agg(n))
FROM (SELECT floor(ST_X(geom) / 50)::integer AS ix, floor(ST_Y(geom) / 50)::integer AS iy,
             area_id, count(*)::integer AS n
      FROM addresses WHERE property_type <> 'block'  -- a block's flats are its dwellings
      GROUP BY 1, 2, 3) g;
SELECT risk_cells_apply(array_agg(model_version), array_agg(ix), array_agg(iy),
                        array_agg(area_id), array_agg(n), array_agg(score), array_agg(high))
FROM (SELECT s.model_version, floor(ST_X(a.geom) / 50)::integer AS ix,
             floor(ST_Y(a.geom) / 50)::integer AS iy, s.area_id, count(*)::integer AS n,
             sum(s.score) AS score,
             count(*) FILTER (WHERE s.band IN ('high', 'very_high'))::integer AS high
      FROM risk_scores s JOIN addresses a USING (uprn)
      WHERE a.property_type NOT IN ('block', 'commercial')  -- not scored (011)
      GROUP BY 1, 2, 3, 4) g;

-- Triggers: each statement's rows, grouped by 50 m square (+1 new, -1 old), applied once.
-- SECURITY DEFINER: the application role writes addresses and scores, never the counts. Each
-- branch names only the transition tables its event has.
CREATE FUNCTION address_cells_track() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM address_cells;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM address_cells_apply(array_agg(ix), array_agg(iy), array_agg(area_id),
                                    array_agg(n))
        FROM (SELECT floor(ST_X(geom) / 50)::integer AS ix, floor(ST_Y(geom) / 50)::integer AS iy,
                     area_id, count(*)::integer AS n
              FROM new_rows WHERE property_type <> 'block' GROUP BY 1, 2, 3) g;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM address_cells_apply(array_agg(ix), array_agg(iy), array_agg(area_id),
                                    array_agg(n))
        FROM (SELECT floor(ST_X(geom) / 50)::integer AS ix, floor(ST_Y(geom) / 50)::integer AS iy,
                     area_id, -count(*)::integer AS n
              FROM old_rows WHERE property_type <> 'block' GROUP BY 1, 2, 3) g;
    ELSE
        PERFORM address_cells_apply(array_agg(ix), array_agg(iy), array_agg(area_id),
                                    array_agg(n))
        FROM (SELECT floor(ST_X(geom) / 50)::integer AS ix, floor(ST_Y(geom) / 50)::integer AS iy,
                     area_id, sum(d)::integer AS n
              FROM (SELECT geom, area_id, 1 AS d FROM new_rows WHERE property_type <> 'block'
                    UNION ALL
                    SELECT geom, area_id, -1 FROM old_rows WHERE property_type <> 'block') r
              GROUP BY 1, 2, 3 HAVING sum(d) <> 0) g;
        -- A moved address takes its scores with it (a score's uprn cannot change under it).
        PERFORM risk_cells_apply(array_agg(model_version), array_agg(ix), array_agg(iy),
                                 array_agg(area_id), array_agg(n), array_agg(score),
                                 array_agg(high))
        FROM (SELECT s.model_version, floor(ST_X(x.geom) / 50)::integer AS ix,
                     floor(ST_Y(x.geom) / 50)::integer AS iy, s.area_id,
                     sum(x.d)::integer AS n, sum(x.d * s.score) AS score,
                     sum(x.d * (s.band IN ('high', 'very_high'))::integer)::integer AS high
              FROM old_rows o JOIN new_rows n USING (uprn) JOIN risk_scores s ON s.uprn = n.uprn,
                   LATERAL (VALUES (o.geom, o.property_type, -1),
                                   (n.geom, n.property_type, 1)) AS x(geom, property_type, d)
              WHERE NOT (o.geom ~= n.geom AND o.property_type = n.property_type)
                AND x.property_type NOT IN ('block', 'commercial')
              GROUP BY 1, 2, 3, 4) g;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER address_cells_insert AFTER INSERT ON addresses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION address_cells_track();
CREATE TRIGGER address_cells_update AFTER UPDATE ON addresses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION address_cells_track();
CREATE TRIGGER address_cells_delete AFTER DELETE ON addresses
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION address_cells_track();
CREATE TRIGGER address_cells_truncate AFTER TRUNCATE ON addresses
    FOR EACH STATEMENT EXECUTE FUNCTION address_cells_track();

-- A score's square is its dwelling's (blocks and commercial premises are not scored). An
-- update that keeps the dwelling (re-scoring) changes only its score and band: old and new rows
-- are netted per dwelling first, and unchanged ones drop out.
CREATE FUNCTION risk_cells_track() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
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

CREATE TRIGGER risk_cells_insert AFTER INSERT ON risk_scores
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_cells_track();
CREATE TRIGGER risk_cells_update AFTER UPDATE ON risk_scores
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION risk_cells_track();
CREATE TRIGGER risk_cells_delete AFTER DELETE ON risk_scores
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_cells_track();
CREATE TRIGGER risk_cells_truncate AFTER TRUNCATE ON risk_scores
    FOR EACH STATEMENT EXECUTE FUNCTION risk_cells_track();
REVOKE ALL ON FUNCTION address_cells_track(), risk_cells_track(),
    address_cells_apply(integer[], integer[], text[], integer[]),
    risk_cells_apply(text[], integer[], integer[], text[], integer[], float8[], integer[])
    FROM PUBLIC;

-- Published squares -------------------------------------------------------------------------------
-- The squares of size cell_m whose index range covers the BNG box x0..x1, y0..y1, summed over
-- areas, with their Web Mercator outline: under 10 addresses left out, the rest rounded to 5.
-- Anyone acting may call it (like address_grid_counts); without an actor it returns nothing.
CREATE FUNCTION tile_address_cells(cell_m integer, x0 float8, y0 float8, x1 float8, y1 float8)
RETURNS TABLE (ix integer, iy integer, n integer, geom geometry)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT p.ix, p.iy, p.n, q.geom
    FROM (SELECT c.ix, c.iy, (5 * ((sum(c.n) + 2) / 5))::integer AS n
          FROM address_cells c
          WHERE (SELECT app_is_system() OR app_user_id() IS NOT NULL)
            AND c.cell_m = tile_address_cells.cell_m
            AND c.iy BETWEEN floor(y0 / tile_address_cells.cell_m)::integer
                          AND floor(y1 / tile_address_cells.cell_m)::integer
            AND c.ix BETWEEN floor(x0 / tile_address_cells.cell_m)::integer
                          AND floor(x1 / tile_address_cells.cell_m)::integer
          GROUP BY c.ix, c.iy
          HAVING sum(c.n) >= 10) p
    JOIN tile_squares q ON q.cell_m = tile_address_cells.cell_m AND q.iy = p.iy AND q.ix = p.ix
$$;

-- The same squares' raw counts, for callers that apply disclosure control themselves before
-- anything is shown (hardening.tiles.mapdata runs publish_grid, with secondary suppression,
-- as hardening.layers does over address_grid_counts): the pre-counted twin of 006's function.
CREATE FUNCTION address_cell_counts(cell_m integer, x0 float8, y0 float8, x1 float8, y1 float8)
RETURNS TABLE (ix integer, iy integer, n integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.ix, c.iy, sum(c.n)::integer
    FROM address_cells c
    WHERE (SELECT app_is_system() OR app_user_id() IS NOT NULL)
      AND c.cell_m = address_cell_counts.cell_m
      AND c.iy BETWEEN floor(y0 / address_cell_counts.cell_m)::integer
                    AND floor(y1 / address_cell_counts.cell_m)::integer
      AND c.ix BETWEEN floor(x0 / address_cell_counts.cell_m)::integer
                    AND floor(x1 / address_cell_counts.cell_m)::integer
    GROUP BY c.ix, c.iy
    HAVING sum(c.n) > 0
$$;

-- Who may see risk squares: the system actor, or planners, analysts and admins whose agreement
-- grants aggregates or risk bands (the same people as risk_grid_counts in 011); only dwellings
-- in their agreement areas count. Per square: dwellings scored (>= 10, rounded to 5), their
-- mean score, and how many are high or very high (rounded to 5; NULL when under 10).
CREATE FUNCTION tile_risk_allowed() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT app_is_system() OR (app_has_any_role('{planner,analyst,admin}')
           AND app_classes() && '{aggregates_only,risk_band,risk_factors}')
$$;

CREATE FUNCTION tile_risk_cells(cell_m integer, x0 float8, y0 float8, x1 float8, y1 float8)
RETURNS TABLE (ix integer, iy integer, dwellings integer, mean_score float8, high integer,
               geom geometry)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH model AS (
        SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
    )
    SELECT p.ix, p.iy, p.dwellings, p.mean_score, p.high, q.geom
    FROM (SELECT c.ix, c.iy, (5 * ((sum(c.n) + 2) / 5))::integer AS dwellings,
                 round((sum(c.score_sum) / sum(c.n))::numeric, 1)::float8 AS mean_score,
                 CASE WHEN sum(c.high) >= 10 THEN (5 * ((sum(c.high) + 2) / 5))::integer END
                     AS high
          FROM risk_cells c
          WHERE (SELECT tile_risk_allowed())
            AND c.model_version = (SELECT model_version FROM model)
            AND c.cell_m = tile_risk_cells.cell_m
            AND ((SELECT app_is_system()) OR c.area_id = ANY((SELECT app_areas())::text[]))
            AND c.iy BETWEEN floor(y0 / tile_risk_cells.cell_m)::integer
                          AND floor(y1 / tile_risk_cells.cell_m)::integer
            AND c.ix BETWEEN floor(x0 / tile_risk_cells.cell_m)::integer
                          AND floor(x1 / tile_risk_cells.cell_m)::integer
          GROUP BY c.ix, c.iy
          HAVING sum(c.n) >= 10) p
    JOIN tile_squares q ON q.cell_m = tile_risk_cells.cell_m AND q.iy = p.iy AND q.ix = p.ix
$$;

REVOKE ALL ON FUNCTION tile_address_cells(integer, float8, float8, float8, float8),
    address_cell_counts(integer, float8, float8, float8, float8),
    tile_risk_cells(integer, float8, float8, float8, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tile_address_cells(integer, float8, float8, float8, float8),
    address_cell_counts(integer, float8, float8, float8, float8),
    tile_risk_cells(integer, float8, float8, float8, float8), tile_risk_allowed()
    TO hardening_app;
