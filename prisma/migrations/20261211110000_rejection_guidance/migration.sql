-- A rejected answer keeps the hints its prompt was made with, as an evaluated one does: the
-- candidates filtered by a hint then show what it led the model to write that never reached a
-- worker (duplicates, answers in another language, edits that did not apply).
-- The body holds no semicolon: the Prisma CLI splits a script at each one.
CREATE OR REPLACE FUNCTION fm_store_rejections(p_run TEXT, p_rows JSONB) RETURNS VOID
LANGUAGE sql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(id TEXT, seq INT, island INT, parent_ids TEXT[], origin TEXT, operator TEXT,
      model TEXT, code TEXT, code_hash TEXT, prompt TEXT, response TEXT, tokens_in INT, tokens_out INT, cost_usd FLOAT8,
      reject_reason TEXT, guidance_ids TEXT[])),
  ins AS (
    INSERT INTO candidates (id, run_id, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, status, reject_reason, guidance_ids)
    SELECT id, p_run, seq, island, parent_ids, origin, operator, model, code, code_hash, prompt, response,
      tokens_in, tokens_out, cost_usd, 'rejected', reject_reason, coalesce(guidance_ids, '{}'::TEXT[]) FROM r
    RETURNING 1)
  UPDATE runs SET next_seq = GREATEST(next_seq, (SELECT max(seq) + 1 FROM r)),
    spend_usd = spend_usd + (SELECT coalesce(sum(cost_usd), 0) FROM r)
  WHERE id = p_run
$fn$;
