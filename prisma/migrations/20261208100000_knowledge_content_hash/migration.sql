-- An import skips a document whose content is already in the base: found by this hash, not by
-- comparing every document's whole text.
CREATE INDEX IF NOT EXISTS "knowledge_docs_content_md5_idx" ON "knowledge_docs" (md5("content"));
