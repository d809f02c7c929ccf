-- 005_control_room: SAFE marker look-ups and address matching for the control room.
--
-- * address_vocabulary: the distinct (street, town, postcode) triples of the register. Street
--   names and postcodes are public, not personal data, so the table has no row-level security
--   and every process can cache the same vocabulary whoever asks first. Statement triggers on
--   addresses keep it current; address_vocabulary_state.stamp changes whenever it gains rows
--   (a fresh UUID, so a rolled-back change never reuses a stamp a cache has seen).
-- * Indexes the look-ups need under RLS, where only leakproof operators (=, <, >) and KNN
--   ordering can use an index: (street, house_number) and postcode for candidate addresses,
--   a partial GiST on active markers' points, GiST (geom, occurred_at) for near-repeat events.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE INDEX addresses_street_number ON addresses (street, house_number);

CREATE TABLE address_vocabulary (
    street   text NOT NULL,
    town     text NOT NULL,      -- '' when the register has none
    postcode text NOT NULL,      -- '' when the register has none
    PRIMARY KEY (street, town, postcode)
);

CREATE TABLE address_vocabulary_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    stamp     text NOT NULL,
    text_only boolean NOT NULL DEFAULT false  -- some addresses have no street part
);
INSERT INTO address_vocabulary_state VALUES (true, gen_random_uuid()::text,
    EXISTS (SELECT 1 FROM addresses WHERE street IS NULL OR street = ''));

CREATE FUNCTION address_vocabulary_add() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    added bigint;
BEGIN
    INSERT INTO address_vocabulary (street, town, postcode)
    SELECT DISTINCT street, coalesce(town, ''), coalesce(postcode, '')
    FROM new_rows WHERE street IS NOT NULL AND street <> ''
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        UPDATE address_vocabulary_state SET stamp = gen_random_uuid()::text;
    END IF;
    IF EXISTS (SELECT 1 FROM new_rows WHERE street IS NULL OR street = '') THEN
        UPDATE address_vocabulary_state SET text_only = true, stamp = gen_random_uuid()::text
        WHERE NOT text_only;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER address_vocabulary_insert AFTER INSERT ON addresses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION address_vocabulary_add();
CREATE TRIGGER address_vocabulary_update AFTER UPDATE ON addresses
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION address_vocabulary_add();

-- Triggers only add; a rebuild also forgets streets no address uses any more.
CREATE FUNCTION address_vocabulary_rebuild() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    total bigint;
BEGIN
    IF NOT (app_is_system() OR app_has_any_role('{analyst,admin}')) THEN
        RAISE EXCEPTION 'only the system actor, analysts and admins rebuild the vocabulary'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM address_vocabulary;
    INSERT INTO address_vocabulary (street, town, postcode)
    SELECT DISTINCT street, coalesce(town, ''), coalesce(postcode, '')
    FROM addresses WHERE street IS NOT NULL AND street <> '';
    GET DIAGNOSTICS total = ROW_COUNT;
    UPDATE address_vocabulary_state SET stamp = gen_random_uuid()::text,
        text_only = EXISTS (SELECT 1 FROM addresses WHERE street IS NULL OR street = '');
    RETURN total;
END $$;

INSERT INTO address_vocabulary (street, town, postcode)
SELECT DISTINCT street, coalesce(town, ''), coalesce(postcode, '')
FROM addresses WHERE street IS NOT NULL AND street <> '';

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON address_vocabulary, address_vocabulary_state
    FROM hardening_app;
GRANT SELECT ON address_vocabulary, address_vocabulary_state TO hardening_app;
REVOKE ALL ON FUNCTION address_vocabulary_rebuild() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION address_vocabulary_rebuild() TO hardening_app;

-- Markers carry their address's point so "markers within r metres" is one KNN scan of a small
-- partial index. The point is copied by the database, never sent by the client.
ALTER TABLE safe_markers ADD COLUMN geom geometry(Point, 27700) CHECK (bng_geometry_ok(geom));

CREATE FUNCTION safe_marker_point() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    NEW.geom := (SELECT geom FROM addresses WHERE uprn = NEW.uprn);
    RETURN NEW;
END $$;
CREATE TRIGGER safe_marker_point BEFORE INSERT OR UPDATE OF uprn, geom ON safe_markers
    FOR EACH ROW EXECUTE FUNCTION safe_marker_point();

CREATE FUNCTION address_moves_markers() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE safe_markers SET geom = NEW.geom WHERE uprn = NEW.uprn;
    RETURN NULL;
END $$;
CREATE TRIGGER address_moves_markers AFTER UPDATE OF geom ON addresses
    FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom)
    EXECUTE FUNCTION address_moves_markers();

UPDATE safe_markers m SET geom = a.geom FROM addresses a WHERE a.uprn = m.uprn;

CREATE INDEX safe_markers_active_gist ON safe_markers USING gist (geom) WHERE status = 'active';
CREATE INDEX marker_reviews_marker ON marker_reviews (marker_id);

-- The state a marker is in on a day: revoked, expired (by date), review due, or active.
CREATE FUNCTION marker_state(status text, review_due date, expires_on date, on_day date)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN status = 'revoked' THEN 'revoked'
        WHEN expires_on IS NOT NULL AND expires_on <= on_day THEN 'expired'
        WHEN review_due <= on_day THEN 'review_due'
        ELSE 'active'
    END
$$;
GRANT EXECUTE ON FUNCTION marker_state(text, date, date, date) TO hardening_app;

-- Near-repeat events: nearest first, only those inside the time window, from one index.
CREATE INDEX incidents_geom_time_gist ON incidents USING gist (geom, occurred_at);

-- Every look-up appends an audit row, and the chain trigger reads the newest one with
-- ORDER BY chain_seq DESC NULLS LAST: without an index in that order it sorts the whole log
-- on each insert (O(rows)); with it, one index probe.
CREATE INDEX audit_log_chain_head ON audit_log (chain_seq DESC NULLS LAST);
