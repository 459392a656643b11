-- The engine's pipeline over time (model requests in flight, candidates waiting for a worker,
-- workers busy), so the console can show whether the model or the workers limit a run.
ALTER TABLE "run_metrics" ADD COLUMN "pipeline" JSONB;
