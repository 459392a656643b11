-- Pictures of candidates (evaluators' SVG / PNG image artifacts), checked before they are stored and
-- again when served. Apart from candidates.artifacts so that prompts, exports and the engine's memory
-- never carry them, and so a candidate table of 100,000 rows stays lean.
CREATE TABLE "candidate_images" (
    "candidate_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "mime" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "candidate_images_pkey" PRIMARY KEY ("candidate_id", "name")
);

ALTER TABLE "candidate_images" ADD CONSTRAINT "candidate_images_candidate_id_fkey" FOREIGN KEY ("candidate_id") REFERENCES "candidates"("id") ON DELETE CASCADE ON UPDATE CASCADE;
