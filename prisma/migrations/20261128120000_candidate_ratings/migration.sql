-- Expert ratings of candidates: up (1) or down (-1) with an optional note, one per candidate and
-- user, candidates.rating is the sign of their sum, what parent selection and the console read.

-- CreateTable
CREATE TABLE "candidate_ratings" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "candidate_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "user_label" TEXT NOT NULL,
    "value" SMALLINT NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "candidate_ratings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "candidate_ratings_run_id_idx" ON "candidate_ratings"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "candidate_ratings_candidate_id_user_id_key" ON "candidate_ratings"("candidate_id", "user_id");

-- AddForeignKey
ALTER TABLE "candidate_ratings" ADD CONSTRAINT "candidate_ratings_candidate_id_fkey" FOREIGN KEY ("candidate_id") REFERENCES "candidates"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "candidates" ADD COLUMN "rating" SMALLINT NOT NULL DEFAULT 0;
