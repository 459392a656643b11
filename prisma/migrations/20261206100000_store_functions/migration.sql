-- The engine's hot writes (runs/store.ts) as functions: the embedded database (PGlite) spends more
-- CPU parsing and planning these statements than executing them, and a function's plan is cached
-- for the session (PostgreSQL 18 caches SQL functions' plans). The plan is generic (it depends on
-- no argument's value) and reaches every row by key, so seq scans are off while it is planned.
-- The bodies hold no semicolon: the Prisma CLI splits a script at each one.

-- New candidates (status queued) and the run's sequence counter and spend, in one statement.
CREATE FUNCTION fm_store_candidates(p_run TEXT, p_rows JSONB) RETURNS VOID
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(id TEXT, seq INT, island INT, parent_ids TEXT[], origin TEXT, operator TEXT,
      operator_params JSONB, model TEXT, code TEXT, code_hash TEXT, prompt TEXT, response TEXT, tokens_in INT, tokens_out INT,
      cost_usd FLOAT8, guidance_ids TEXT[], control_guidance_ids TEXT[], control_retrieval_id TEXT, created_by_id TEXT)),
  ins AS (
    INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, prompt,
      response, tokens_in, tokens_out, cost_usd, status, guidance_ids, control_guidance_ids, control_retrieval_id, created_by_id)
    SELECT id, p_run, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, 'queued', guidance_ids, control_guidance_ids, control_retrieval_id, created_by_id FROM r
    RETURNING 1)
  UPDATE runs SET next_seq = GREATEST(next_seq, (SELECT max(seq) + 1 FROM r)),
    spend_usd = spend_usd + (SELECT coalesce(sum(cost_usd), 0) FROM r), updated_at = now()
  WHERE id = p_run
$fn$;

-- Rejected answers: stored as records (status rejected), counted in the sequence and the spend.
CREATE FUNCTION fm_store_rejections(p_run TEXT, p_rows JSONB) RETURNS VOID
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(id TEXT, seq INT, island INT, parent_ids TEXT[], origin TEXT, operator TEXT,
      model TEXT, code TEXT, code_hash TEXT, prompt TEXT, response TEXT, tokens_in INT, tokens_out INT, cost_usd FLOAT8,
      reject_reason TEXT)),
  ins AS (
    INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, status, reject_reason, guidance_ids)
    SELECT id, p_run, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, 'rejected', reject_reason, '{}'::TEXT[] FROM r
    RETURNING 1)
  UPDATE runs SET next_seq = GREATEST(next_seq, (SELECT max(seq) + 1 FROM r)),
    spend_usd = spend_usd + (SELECT coalesce(sum(cost_usd), 0) FROM r)
  WHERE id = p_run
$fn$;

-- Evaluation results in the order given (ord): only a candidate still queued or running at the
-- result's attempt becomes evaluated, once, and each takes the next evaluation index of the run.
-- Each result finds its candidate by primary key (the lateral subquery keeps the status index,
-- which holds an entry for every version a candidate had until a vacuum, out of the plan).
CREATE FUNCTION fm_store_results(p_run TEXT, p_rows JSONB, p_best_id TEXT, p_best_score FLOAT8, p_ids TEXT[])
RETURNS TABLE (stored_id TEXT, stored_eval_index INT)
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(ord INT, id TEXT, attempt INT, valid BOOLEAN, score FLOAT8, metrics JSONB,
      features JSONB, artifacts JSONB, error JSONB, timing JSONB, worker_id TEXT, repair_due BOOLEAN)),
  ok AS (
    SELECT r.*, (row_number() OVER (ORDER BY r.ord) - 1)::INT AS k
    FROM r CROSS JOIN LATERAL (SELECT c.run_id, c.status, c.attempt FROM candidates c WHERE c.id = r.id OFFSET 0) c
    WHERE c.run_id = p_run AND c.status IN ('queued', 'running') AND c.attempt = r.attempt),
  base AS (SELECT evaluations FROM runs WHERE id = p_run),
  upd AS (
    UPDATE candidates c SET status = 'evaluated', valid = ok.valid, score = ok.score, metrics = ok.metrics,
      features = ok.features, artifacts = ok.artifacts,
      error = CASE WHEN jsonb_typeof(ok.error) = 'null' THEN NULL ELSE ok.error END, timing = ok.timing,
      worker_id = ok.worker_id, eval_index = (SELECT evaluations FROM base) + ok.k, evaluated_at = now(),
      repair_due = ok.repair_due
    FROM ok WHERE c.id = ANY(p_ids) AND c.id = ok.id
    RETURNING c.id, c.eval_index),
  run AS (
    UPDATE runs SET evaluations = evaluations + (SELECT count(*) FROM upd), updated_at = now(),
      best_score = CASE WHEN p_best_id IS NULL THEN best_score ELSE p_best_score END,
      best_candidate_id = coalesce(p_best_id, best_candidate_id)
    WHERE id = p_run)
  SELECT id, eval_index FROM upd
$fn$;

-- The run's row is rewritten by every write above. Postgres prunes a page's dead row versions
-- only once the page's free space drops under max(10%, 100 - fillfactor) of it, and a ~2 kB row
-- never leaves under 10% free: each update moved the row to a new page and left the old one
-- behind (hundreds of pages for one row, every read walking them) where nothing vacuums, as in
-- the embedded database. At 50 the page is pruned and the row stays where it is.
ALTER TABLE "runs" SET (fillfactor = 50);
