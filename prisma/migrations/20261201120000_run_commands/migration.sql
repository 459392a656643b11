-- The control channel between the console and whichever engine drives a run: every intervention
-- is written once here (the stored row is the truth, NOTIFY fm_commands only wakes the engine),
-- applied once by the engine that holds the run's lease, and acknowledged with its outcome.
CREATE TABLE "run_commands" (
    "id" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    -- pending | applied | refused | stored (no engine drives the run: what was stored applies when it resumes)
    "status" TEXT NOT NULL DEFAULT 'pending',
    "result" JSONB,
    "applied_by" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "applied_at" TIMESTAMP(3),

    CONSTRAINT "run_commands_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "run_commands_run_id_id_idx" ON "run_commands"("run_id", "id");

ALTER TABLE "run_commands" ADD CONSTRAINT "run_commands_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
