-- Chinese and Japanese are written without spaces between words (Korean with spaces between
-- phrases), and the text parser read a whole run of such characters as one word: no query of a
-- word inside it could match. Each such character is now a word of its own, and a query asks for
-- its characters next to each other (a phrase), so a word is found inside any run that holds it.
-- Han (with extension A and the compatibility ideographs), Hiragana, Katakana, Hangul.
ALTER TABLE "knowledge_chunks" DROP COLUMN "tsv";
ALTER TABLE "knowledge_chunks" ADD COLUMN "tsv" tsvector GENERATED ALWAYS AS (
  to_tsvector('english', regexp_replace(
    coalesce("heading", '') || ' ' || "content",
    '([㐀-䶿一-鿿豈-﫿぀-ゟ゠-ヿㇰ-ㇿᄀ-ᇿ㄰-㆏가-힯])', ' \1 ', 'g'))
) STORED;
CREATE INDEX "knowledge_chunks_tsv_idx" ON "knowledge_chunks" USING gin ("tsv");

-- The offline embedder (lexical-hash-512) now reads such runs as pairs of characters: the vectors
-- it made of them before are set aside, and their documents wait for a re-embed (the console's
-- knowledge page offers it), so no chunk keeps a vector the new queries cannot meet.
UPDATE "knowledge_chunks" SET "embedding" = NULL, "embedding_model" = NULL
WHERE "embedding_model" = 'lexical-hash-512'
  AND coalesce("heading", '') || "content" ~ '[㐀-䶿一-鿿豈-﫿぀-ゟ゠-ヿㇰ-ㇿᄀ-ᇿ㄰-㆏가-힯]';
UPDATE "knowledge_docs" d SET "embed_status" = 'pending'
WHERE "embed_status" = 'ready'
  AND EXISTS (SELECT 1 FROM "knowledge_chunks" c WHERE c."doc_id" = d."id" AND c."embedding_model" IS NULL);
