-- 016_address_names: named houses and localities, as real addresses have them.
--
-- * addresses.building_name: the name of a house or building ("Rose Cottage", "Cavendish
--   House"), with or without a house number; a flat in a named building keeps the building's
--   name. addresses.locality: the village or district under the post town ("Fenham").
-- * address_vocabulary gains the locality (its key grows by it), and address_name_vocabulary
--   holds the distinct (name, street, town, postcode) of named addresses: like the street
--   vocabulary, public words with no row-level security, cached by every process, kept current
--   by statement triggers, and found by equality (leakproof, so the index works under RLS).

ALTER TABLE addresses ADD COLUMN building_name text
    CHECK (building_name IS NULL OR length(building_name) BETWEEN 1 AND 120);
ALTER TABLE addresses ADD COLUMN locality text
    CHECK (locality IS NULL OR length(locality) BETWEEN 1 AND 80);
CREATE INDEX addresses_building_name ON addresses (building_name)
    WHERE building_name IS NOT NULL;

ALTER TABLE address_vocabulary ADD COLUMN locality text NOT NULL DEFAULT '';
ALTER TABLE address_vocabulary DROP CONSTRAINT address_vocabulary_pkey;
ALTER TABLE address_vocabulary ADD PRIMARY KEY (street, town, postcode, locality);

CREATE TABLE address_name_vocabulary (
    name     text NOT NULL,
    street   text NOT NULL,      -- '' when the address has none
    town     text NOT NULL,
    postcode text NOT NULL,
    locality text NOT NULL,
    PRIMARY KEY (name, street, town, postcode, locality)
);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON address_name_vocabulary FROM hardening_app;
GRANT SELECT ON address_name_vocabulary TO hardening_app;

CREATE OR REPLACE FUNCTION address_vocabulary_add() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    added bigint;
    named bigint;
BEGIN
    INSERT INTO address_vocabulary (street, town, postcode, locality)
    SELECT DISTINCT street, coalesce(town, ''), coalesce(postcode, ''), coalesce(locality, '')
    FROM new_rows WHERE street IS NOT NULL AND street <> ''
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    INSERT INTO address_name_vocabulary (name, street, town, postcode, locality)
    SELECT DISTINCT building_name, coalesce(street, ''), coalesce(town, ''),
           coalesce(postcode, ''), coalesce(locality, '')
    FROM new_rows WHERE building_name IS NOT NULL
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS named = ROW_COUNT;
    IF added > 0 OR named > 0 THEN
        UPDATE address_vocabulary_state SET stamp = gen_random_uuid()::text;
    END IF;
    -- Text only: neither a street nor a name to find the address by.
    IF EXISTS (SELECT 1 FROM new_rows
               WHERE (street IS NULL OR street = '') AND building_name IS NULL) THEN
        UPDATE address_vocabulary_state SET text_only = true, stamp = gen_random_uuid()::text
        WHERE NOT text_only;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION address_vocabulary_rebuild() RETURNS bigint LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    total bigint;
BEGIN
    IF NOT (app_is_system() OR app_has_any_role('{analyst,admin}')) THEN
        RAISE EXCEPTION 'only the system actor, analysts and admins rebuild the vocabulary'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM address_vocabulary;
    DELETE FROM address_name_vocabulary;
    INSERT INTO address_vocabulary (street, town, postcode, locality)
    SELECT DISTINCT street, coalesce(town, ''), coalesce(postcode, ''), coalesce(locality, '')
    FROM addresses WHERE street IS NOT NULL AND street <> '';
    GET DIAGNOSTICS total = ROW_COUNT;
    INSERT INTO address_name_vocabulary (name, street, town, postcode, locality)
    SELECT DISTINCT building_name, coalesce(street, ''), coalesce(town, ''),
           coalesce(postcode, ''), coalesce(locality, '')
    FROM addresses WHERE building_name IS NOT NULL;
    UPDATE address_vocabulary_state SET stamp = gen_random_uuid()::text,
        text_only = EXISTS (SELECT 1 FROM addresses
                            WHERE (street IS NULL OR street = '') AND building_name IS NULL);
    RETURN total;
END $$;

INSERT INTO address_name_vocabulary (name, street, town, postcode, locality)
SELECT DISTINCT building_name, coalesce(street, ''), coalesce(town, ''),
       coalesce(postcode, ''), coalesce(locality, '')
FROM addresses WHERE building_name IS NOT NULL;
