-- 023_audit_encoding: an unambiguous encoding for the audit chain, and no control characters
-- in audit reasons.
--
-- Version 1 (002_security) hashed concat_ws('|', ...): NULLs vanish and '|' is not escaped, so
-- object_id NULL + justification '1|fuzz' hashes like object_id '1' + justification 'fuzz'.
-- Version 2 hashes a JSON array of every field in a fixed order: NULL is null, '' is "", and
-- text cannot move from one element to the next. Rows written before this migration keep
-- version 1 and keep verifying; the trigger writes every new row as version 2.

ALTER TABLE audit_log ADD COLUMN hash_version smallint NOT NULL DEFAULT 1
    CONSTRAINT audit_hash_version CHECK (hash_version IN (1, 2));
ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 2;

-- What version 2 hashes: the row as one JSON array (jsonb's text form is canonical: keys of
-- details sorted, strings escaped). The time is UTC to the microsecond, like version 1.
CREATE FUNCTION audit_row_encoding_v2(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(r.hash_version, r.chain_seq,
        to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.actor_user_id,
        r.actor_org_id, r.action, r.object_type, r.object_id, r.justification, r.recipient,
        r.details, r.prev_hash)::text
$$;

CREATE FUNCTION audit_row_hash_v2(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(audit_row_encoding_v2(r), 'UTF8')), 'hex')
$$;

-- The hash a row should carry, by its version: what `hardening audit verify` compares.
CREATE FUNCTION audit_expected_hash(r audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE r.hash_version WHEN 1 THEN audit_row_hash(r) WHEN 2 THEN audit_row_hash_v2(r) END
$$;

-- Same lock, same actor helpers, same definer rights as before; every chain field, the version
-- included, is set here whatever the inserting role supplied.
CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    last audit_log;
BEGIN
    PERFORM pg_advisory_xact_lock(727002);
    SELECT * INTO last FROM audit_log ORDER BY chain_seq DESC NULLS LAST LIMIT 1;
    NEW.hash_version := 2;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := last.row_hash;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.actor_user_id := app_user_id();
    NEW.actor_org_id := app_org_id();
    NEW.row_hash := audit_row_hash_v2(NEW);
    RETURN NEW;
END $$;

-- Version-1 rows stay ambiguous under their own hash. Seal them now: one version-2 row whose
-- details hold a digest of every version-1 row in the version-2 encoding (h = sha256(h || hash),
-- in chain order, from ''). `verify` recomputes it, so moving text between fields of an old row
-- is caught too. Nothing to seal in an empty log.
DO $$
DECLARE
    digest text := '';
    sealed bigint := 0;
    r audit_log;
BEGIN
    FOR r IN SELECT * FROM audit_log WHERE hash_version = 1 ORDER BY chain_seq LOOP
        digest := encode(sha256(convert_to(digest || audit_row_hash_v2(r), 'UTF8')), 'hex');
        sealed := sealed + 1;
    END LOOP;
    IF sealed > 0 THEN
        INSERT INTO audit_log (action, object_type, details)
        VALUES ('alteration', 'audit_chain', jsonb_build_object(
            'v1_seal', jsonb_build_object('rows', sealed, 'digest', digest)));
    END IF;
END $$;

-- Reasons and recipients are one line of plain text: no C0/C1 control characters and no
-- Unicode bidirectional controls (which can make a log line read differently from what it
-- holds). The same set as hardening.security.audit.FORBIDDEN_IN_TEXT. NOT VALID: rows already
-- written are not re-checked (and stay as they are); every new row is.
CREATE FUNCTION audit_text_printable(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT t !~ '[\u0001-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]'
$$;
ALTER TABLE audit_log ADD CONSTRAINT audit_text_printable
    CHECK (audit_text_printable(justification) AND audit_text_printable(recipient)) NOT VALID;
