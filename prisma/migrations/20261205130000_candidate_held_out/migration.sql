-- Evaluator integrity: a candidate's evaluation on the problem's held-out stage (never shown to the
-- search), beside its search score: status, validity, score, metrics, error, when.
ALTER TABLE "candidates" ADD COLUMN "held_out" JSONB;
