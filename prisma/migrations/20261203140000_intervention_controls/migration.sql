-- Concurrent controls of interventions: while a hint (or retrieved knowledge) is active in a
-- candidate's scope, a share of its prompts is made without it. The candidate records what was
-- withheld, so the effect compares the two groups over the same period.
ALTER TABLE "candidates" ADD COLUMN "control_guidance_ids" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "candidates" ADD COLUMN "control_retrieval_id" TEXT;
