-- Each metric row carries the time the run had run when it was written (the clock of runs.active_s),
-- so a chart against time leaves out the hours a run sat stopped or paused before a resume: the
-- rows' own timestamps cannot, and a crash or a failover leaves no status event to find the gap by.
-- Rows written before this have none: the compare page estimates theirs from the gaps between rows.
ALTER TABLE "run_metrics" ADD COLUMN "active_s" DOUBLE PRECISION;
