-- Repair of failed children: a child whose evaluation failed and that is owed a repair is marked in
-- the same statement that stores its result, so a killed engine finds the repairs it still owes
-- (marked, and no candidate of origin 'repair' names it as parent yet) without repairing one twice.
ALTER TABLE "candidates" ADD COLUMN "repair_due" BOOLEAN NOT NULL DEFAULT false;
