-- A lesson is looked up by its candidate each time an island's best improves (proposal is idempotent
-- per candidate): an index, so the lookup does not scan every lesson of every run.
CREATE INDEX "lessons_candidate_id_idx" ON "lessons"("candidate_id");
