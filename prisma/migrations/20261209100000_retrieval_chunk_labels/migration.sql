-- What each retrieved chunk was called when it was retrieved ("document › heading"), so that a
-- candidate's provenance still names the knowledge its prompt drew on after the document is deleted.
ALTER TABLE "retrievals" ADD COLUMN "chunk_labels" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
