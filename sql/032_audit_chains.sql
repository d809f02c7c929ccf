-- 032_audit_chains: eight audit chains instead of one, so audited reads stop queueing.
--
-- Every audited read appends a row, and the one chain's lock (023 audit_chain) was held from
-- the append through the commit's flush: at concurrency 4 audited look-ups waited for each
-- other (issue 20). Now there are 8 chains, each with its own sequence, links and lock. A
-- transaction appends to one chain: the first whose lock is free, trying from
-- pg_backend_pid() % 8 (so a backend keeps to one chain while nothing else is writing), and
-- waits for that one only when all 8 are busy. Within a chain, order is still commit order.
-- Rows written before this migration are chain 0 and keep their hashes (the chain number is
-- not hashed: moving a row to another chain breaks that chain's sequence or links, and a
-- whole chain renumbered is caught by its recorded head).

ALTER TABLE audit_log ADD COLUMN chain smallint NOT NULL DEFAULT 0
    CONSTRAINT audit_chain_number CHECK (chain BETWEEN 0 AND 7);
ALTER TABLE audit_log ALTER COLUMN chain_seq SET NOT NULL;

-- (chain, chain_seq) unique, and the trigger's read of a chain's newest row is one backward
-- probe of that index (it replaces 005's head index on chain_seq alone).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_chain_seq_key;
DROP INDEX audit_log_chain_head;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_chain_head UNIQUE (chain, chain_seq);

-- The chain this transaction appends to. The one it took for an earlier row is remembered in
-- a transaction-local setting; its lock is taken again anyway (at once when already held), so
-- a value set by anyone else only makes that transaction wait its turn on that chain. One
-- chain per transaction: a waiter never holds another chain's lock, so two cannot deadlock.
CREATE FUNCTION audit_take_chain() RETURNS smallint LANGUAGE plpgsql AS $$
DECLARE
    held text := current_setting('hardening.audit_chain', true);
    start int := pg_backend_pid() % 8;
    k int;
BEGIN
    IF held IS NOT NULL AND held <> '' THEN
        k := held::int;
        PERFORM pg_advisory_xact_lock(727002, k);
        RETURN k;
    END IF;
    FOR i IN 0..7 LOOP
        k := (start + i) % 8;
        IF pg_try_advisory_xact_lock(727002, k) THEN
            PERFORM set_config('hardening.audit_chain', k::text, true);
            RETURN k;
        END IF;
    END LOOP;
    PERFORM pg_advisory_xact_lock(727002, start);
    PERFORM set_config('hardening.audit_chain', start::text, true);
    RETURN start;
END $$;
REVOKE EXECUTE ON FUNCTION audit_take_chain() FROM PUBLIC;

-- As in 023, on the row's own chain; every chain field is set here whatever the inserting
-- role supplied, the chain included.
CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    last audit_log;
BEGIN
    NEW.chain := audit_take_chain();
    SELECT * INTO last FROM audit_log WHERE chain = NEW.chain
        ORDER BY chain_seq DESC LIMIT 1;
    NEW.hash_version := 2;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := last.row_hash;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.actor_user_id := app_user_id();
    NEW.actor_org_id := app_org_id();
    NEW.row_hash := audit_row_hash_v2(NEW);
    RETURN NEW;
END $$;
