-- A run forked from a candidate of another run records where it came from (the candidate's code
-- is in the run config's seedPrograms), both runs link to each other through these columns.

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "forked_from_candidate_id" TEXT,
ADD COLUMN     "forked_from_run_id" TEXT;

-- CreateIndex
CREATE INDEX "runs_forked_from_run_id_idx" ON "runs"("forked_from_run_id");

-- CreateIndex
CREATE INDEX "runs_forked_from_candidate_id_idx" ON "runs"("forked_from_candidate_id");
