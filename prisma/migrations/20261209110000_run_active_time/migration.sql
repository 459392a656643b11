-- The time a run has spent running, over all its sessions: a time budget and the console's elapsed
-- time count it, not the hours a run sat stopped or paused between a stop and a resume. Runs from
-- before this get start to end (or to their last change), what they were measured by until now.
-- active_at: when active_s was last written (a live run's elapsed time is active_s + now - active_at).
ALTER TABLE "runs" ADD COLUMN "active_s" DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE "runs" ADD COLUMN "active_at" TIMESTAMP(3);
UPDATE "runs" SET "active_s" = GREATEST(0, EXTRACT(EPOCH FROM (COALESCE("finished_at", "updated_at") - "started_at")))
  WHERE "started_at" IS NOT NULL;
