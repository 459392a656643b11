-- LLM-supervised feedback: a judge model's rating (0 to 1) and critique of a candidate, with the
-- model, its tokens and cost (counted in the run's spend), or why it was not judged.
ALTER TABLE "candidates" ADD COLUMN "judge" JSONB;
