-- 025: long work runs as jobs (issue 17). A job is a row here, owned by the user who asked for
-- it; a worker (`hardening worker`, procrastinate) runs it as that user. The queue itself is
-- procrastinate's, in its own schema `procrastinate` that the migration runner installs after
-- the SQL migrations; the service role has no rights there and queues work only through
-- job_submit() below, so asking for work and being the queue stay apart.

CREATE TABLE jobs (
    job_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{1,40}$'),
    user_id          bigint REFERENCES users ON DELETE CASCADE,  -- NULL: the system's own
    params           jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress         real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    step             text NOT NULL DEFAULT 'waiting for a worker',
    result           jsonb,
    error            text,
    cancel_requested boolean NOT NULL DEFAULT false,
    queue_job_id     bigint,  -- procrastinate's id; NULL when run in the asking process
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX jobs_user_recent ON jobs (user_id, job_id DESC);
CREATE INDEX jobs_unfinished ON jobs (user_id) WHERE status IN ('queued', 'running');

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
-- The owner's sessions (the worker, the CLI) keep the books; a user sees only their own jobs.
CREATE POLICY maintenance ON jobs TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY own_jobs ON jobs FOR SELECT TO hardening_app
    USING (user_id = (SELECT app_user_id()));
REVOKE INSERT, UPDATE, DELETE ON jobs FROM hardening_app;

-- How many unfinished jobs one user may have (queued or running); beyond it job_submit refuses
-- with 'too_many_jobs' (the API's 503 with Retry-After).
CREATE FUNCTION jobs_per_user() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 4 $$;

-- Queue a job for the acting user (or the system). Definer: it writes the job row and
-- procrastinate's queue, neither of which the service role may touch directly.
CREATE FUNCTION job_submit(p_kind text, p_params jsonb, p_queue boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, procrastinate, pg_temp AS $$
DECLARE
    uid bigint := app_user_id();
    new_id bigint;
    queued bigint;
BEGIN
    IF uid IS NULL AND NOT app_is_system() THEN
        RAISE EXCEPTION 'only a signed-in user or the system may ask for work'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF uid IS NOT NULL THEN
        -- One user's requests queue one at a time, so the count below cannot be raced.
        PERFORM pg_advisory_xact_lock(727025, uid::integer);
        IF (SELECT count(*) FROM jobs j WHERE j.user_id = uid
            AND j.status IN ('queued', 'running')) >= jobs_per_user() THEN
            RAISE EXCEPTION 'too_many_jobs'
                USING DETAIL = format('at most %s unfinished jobs per user', jobs_per_user()),
                      ERRCODE = 'P0001';
        END IF;
    END IF;
    INSERT INTO jobs (kind, user_id, params) VALUES (p_kind, uid, p_params)
    RETURNING job_id INTO new_id;
    IF p_queue THEN
        queued := (procrastinate_defer_jobs_v1(ARRAY[ROW(
            'heavy', 'run_job', 0, NULL, NULL, jsonb_build_object('job_id', new_id), NULL
        )::procrastinate_job_to_defer_v1]))[1];
        UPDATE jobs SET queue_job_id = queued WHERE job_id = new_id;
    ELSE
        UPDATE jobs SET step = 'starting' WHERE job_id = new_id;
    END IF;
    RETURN new_id;
END $$;

-- Cancel one's own job: a queued job never starts; a running one stops at its next step and
-- writes nothing. Returns the job's status afterwards, NULL when the caller has no such job.
CREATE FUNCTION job_cancel(p_job_id bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, procrastinate, pg_temp AS $$
DECLARE
    j jobs;
BEGIN
    SELECT * INTO j FROM jobs WHERE job_id = p_job_id
        AND (user_id = app_user_id() OR (user_id IS NULL AND app_is_system()))
        FOR UPDATE;
    IF j.job_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF j.status = 'queued' THEN
        IF j.queue_job_id IS NOT NULL THEN
            PERFORM procrastinate_cancel_job_v1(j.queue_job_id, true, false);
        END IF;
        UPDATE jobs SET status = 'cancelled', cancel_requested = true, finished_at = now(),
            step = 'cancelled before it started' WHERE job_id = p_job_id;
        RETURN 'cancelled';
    ELSIF j.status = 'running' THEN
        UPDATE jobs SET cancel_requested = true, step = 'cancelling' WHERE job_id = p_job_id;
        RETURN 'running';
    END IF;
    RETURN j.status;
END $$;

REVOKE ALL ON FUNCTION job_submit(text, jsonb, boolean), job_cancel(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION job_submit(text, jsonb, boolean), job_cancel(bigint) TO hardening_app;
