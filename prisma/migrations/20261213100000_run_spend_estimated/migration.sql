-- A run whose model sends no token counts with its answers has them estimated (4 characters per
-- token, llm/client.ts), so its spend and its spend cap rest on an estimate: the run says so
-- wherever its spend is shown. The store functions set it with the spend they add, in the same
-- statement, from each stored answer's usage_estimated (absent: counted). Runs from before this
-- kept no such mark: they read as counted.
-- The bodies hold no semicolon: the Prisma CLI splits a script at each one.
ALTER TABLE "runs" ADD COLUMN "spend_estimated" BOOLEAN NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION fm_store_candidates(p_run TEXT, p_rows JSONB) RETURNS VOID
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(id TEXT, seq INT, island INT, parent_ids TEXT[], origin TEXT, operator TEXT,
      operator_params JSONB, model TEXT, code TEXT, code_hash TEXT, prompt TEXT, response TEXT, tokens_in INT, tokens_out INT,
      cost_usd FLOAT8, guidance_ids TEXT[], control_guidance_ids TEXT[], control_retrieval_id TEXT, created_by_id TEXT,
      usage_estimated BOOLEAN)),
  ins AS (
    INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, prompt,
      response, tokens_in, tokens_out, cost_usd, status, guidance_ids, control_guidance_ids, control_retrieval_id, created_by_id)
    SELECT id, p_run, seq, island, parent_ids, origin, operator, operator_params, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, 'queued', guidance_ids, control_guidance_ids, control_retrieval_id, created_by_id FROM r
    RETURNING 1)
  UPDATE runs SET next_seq = GREATEST(next_seq, (SELECT max(seq) + 1 FROM r)),
    spend_usd = spend_usd + (SELECT coalesce(sum(cost_usd), 0) FROM r),
    spend_estimated = spend_estimated OR coalesce((SELECT bool_or(usage_estimated) FROM r), false), updated_at = now()
  WHERE id = p_run
$fn$;

CREATE OR REPLACE FUNCTION fm_store_rejections(p_run TEXT, p_rows JSONB) RETURNS VOID
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(id TEXT, seq INT, island INT, parent_ids TEXT[], origin TEXT, operator TEXT,
      model TEXT, code TEXT, code_hash TEXT, prompt TEXT, response TEXT, tokens_in INT, tokens_out INT, cost_usd FLOAT8,
      reject_reason TEXT, guidance_ids TEXT[], usage_estimated BOOLEAN)),
  ins AS (
    INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, status, reject_reason, guidance_ids)
    SELECT id, p_run, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, 'rejected', reject_reason, coalesce(guidance_ids, '{}'::TEXT[]) FROM r
    RETURNING 1)
  UPDATE runs SET next_seq = GREATEST(next_seq, (SELECT max(seq) + 1 FROM r)),
    spend_usd = spend_usd + (SELECT coalesce(sum(cost_usd), 0) FROM r),
    spend_estimated = spend_estimated OR coalesce((SELECT bool_or(usage_estimated) FROM r), false)
  WHERE id = p_run
$fn$;
