-- pgvector: the knowledge base's embeddings. Creating the extension needs a superuser or a
-- database where an administrator created it first (see prisma/README.md).
CREATE EXTENSION IF NOT EXISTS vector;

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "email_verified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "role" TEXT NOT NULL DEFAULT 'viewer',
    "must_change_password" BOOLEAN NOT NULL DEFAULT false,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "token" TEXT NOT NULL,
    "ip_address" TEXT,
    "user_agent" TEXT,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "accounts" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "access_token" TEXT,
    "refresh_token" TEXT,
    "id_token" TEXT,
    "access_token_expires_at" TIMESTAMP(3),
    "refresh_token_expires_at" TIMESTAMP(3),
    "scope" TEXT,
    "password" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verifications" (
    "id" TEXT NOT NULL,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "verifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "run_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "problems" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "primary_metric" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "seed_code" TEXT NOT NULL,
    "run_defaults" JSONB NOT NULL DEFAULT '{}',
    "warnings" TEXT[],
    "source_path" TEXT,
    "bundle_hash" TEXT NOT NULL,
    "builtin" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "problems_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "problem_bundles" (
    "hash" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "file_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "problem_bundles_pkey" PRIMARY KEY ("hash")
);

-- CreateTable
CREATE TABLE "runs" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "problem_id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'created',
    "status_reason" TEXT,
    "config" JSONB NOT NULL,
    "problem_snapshot" JSONB NOT NULL,
    "evaluations" INTEGER NOT NULL DEFAULT 0,
    "spend_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "seed_score" DOUBLE PRECISION,
    "best_score" DOUBLE PRECISION,
    "best_candidate_id" TEXT,
    "next_seq" INTEGER NOT NULL DEFAULT 0,
    "engine_state" JSONB NOT NULL DEFAULT '{}',
    "lease_owner" TEXT,
    "lease_until" TIMESTAMP(3),
    "created_by_id" TEXT,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "islands" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "state" JSONB NOT NULL DEFAULT '{}',
    "best_score" DOUBLE PRECISION,
    "best_candidate_id" TEXT,
    "stagnant" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "islands_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "candidates" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "island" INTEGER NOT NULL,
    "parent_ids" TEXT[],
    "origin" TEXT NOT NULL,
    "operator" TEXT,
    "operator_params" JSONB,
    "model" TEXT,
    "code" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "diff" TEXT,
    "prompt" TEXT,
    "response" TEXT,
    "tokens_in" INTEGER NOT NULL DEFAULT 0,
    "tokens_out" INTEGER NOT NULL DEFAULT 0,
    "cost_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "reject_reason" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "valid" BOOLEAN,
    "score" DOUBLE PRECISION,
    "metrics" JSONB,
    "features" JSONB,
    "artifacts" JSONB,
    "error" JSONB,
    "timing" JSONB,
    "worker_id" TEXT,
    "eval_index" INTEGER,
    "guidance_ids" TEXT[],
    "pinned" BOOLEAN NOT NULL DEFAULT false,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "evaluated_at" TIMESTAMP(3),

    CONSTRAINT "candidates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "migrations" (
    "id" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "from_island" INTEGER NOT NULL,
    "to_island" INTEGER NOT NULL,
    "candidate_id" TEXT NOT NULL,
    "at_eval" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "migrations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "guidance" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "island" INTEGER,
    "text" TEXT NOT NULL,
    "author_id" TEXT,
    "author_label" TEXT NOT NULL,
    "start_eval" INTEGER NOT NULL,
    "expires_after_evals" INTEGER,
    "expires_at" TIMESTAMP(3),
    "withdrawn_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "guidance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_metrics" (
    "id" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "island" INTEGER NOT NULL,
    "eval_count" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "best" DOUBLE PRECISION,
    "mean" DOUBLE PRECISION,
    "median" DOUBLE PRECISION,
    "diversity" JSONB NOT NULL,
    "population" INTEGER NOT NULL,
    "evals_per_sec" DOUBLE PRECISION NOT NULL,
    "failure_rate" DOUBLE PRECISION NOT NULL,
    "spend_usd" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "run_metrics_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_events" (
    "id" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "capabilities" JSONB NOT NULL,
    "isolation" JSONB NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "running" INTEGER NOT NULL DEFAULT 0,
    "completed" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'online',
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMP(3),

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "knowledge_docs" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "source_path" TEXT,
    "format" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "tags" TEXT[],
    "problem_id" TEXT,
    "embed_status" TEXT NOT NULL DEFAULT 'pending',
    "embed_error" TEXT,
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "knowledge_docs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "knowledge_chunks" (
    "id" TEXT NOT NULL,
    "doc_id" TEXT NOT NULL,
    "ord" INTEGER NOT NULL,
    "heading" TEXT,
    "content" TEXT NOT NULL,
    "embedding_model" TEXT,
    "embedding" vector,
    "tsv" tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce("heading", '') || ' ' || "content")) STORED,
    "usefulness" DOUBLE PRECISION,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "knowledge_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "retrievals" (
    "id" TEXT NOT NULL,
    "run_id" TEXT,
    "island" INTEGER,
    "trigger" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "chunk_ids" TEXT[],
    "scores" DOUBLE PRECISION[],
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "retrievals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "retrieval_uses" (
    "id" BIGSERIAL NOT NULL,
    "retrieval_id" TEXT NOT NULL,
    "chunk_id" TEXT NOT NULL,
    "candidate_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "delta" DOUBLE PRECISION,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "retrieval_uses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "lessons" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "candidate_id" TEXT NOT NULL,
    "problem_id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'proposed',
    "doc_id" TEXT,
    "reviewed_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reviewed_at" TIMESTAMP(3),

    CONSTRAINT "lessons_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "sessions_token_key" ON "sessions"("token");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE INDEX "accounts_user_id_idx" ON "accounts"("user_id");

-- CreateIndex
CREATE INDEX "verifications_identifier_idx" ON "verifications"("identifier");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");

-- CreateIndex
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");

-- CreateIndex
CREATE INDEX "audit_events_action_idx" ON "audit_events"("action");

-- CreateIndex
CREATE INDEX "audit_events_run_id_idx" ON "audit_events"("run_id");

-- CreateIndex
CREATE INDEX "runs_status_idx" ON "runs"("status");

-- CreateIndex
CREATE UNIQUE INDEX "islands_run_id_index_key" ON "islands"("run_id", "index");

-- CreateIndex
CREATE INDEX "candidates_run_id_status_idx" ON "candidates"("run_id", "status");

-- CreateIndex
CREATE INDEX "candidates_run_id_code_hash_idx" ON "candidates"("run_id", "code_hash");

-- CreateIndex
CREATE INDEX "candidates_run_id_island_score_idx" ON "candidates"("run_id", "island", "score");

-- CreateIndex
CREATE INDEX "candidates_run_id_eval_index_idx" ON "candidates"("run_id", "eval_index");

-- CreateIndex
CREATE UNIQUE INDEX "candidates_run_id_seq_key" ON "candidates"("run_id", "seq");

-- CreateIndex
CREATE INDEX "migrations_run_id_idx" ON "migrations"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "migrations_run_id_to_island_candidate_id_key" ON "migrations"("run_id", "to_island", "candidate_id");

-- CreateIndex
CREATE INDEX "guidance_run_id_idx" ON "guidance"("run_id");

-- CreateIndex
CREATE INDEX "run_metrics_run_id_island_eval_count_idx" ON "run_metrics"("run_id", "island", "eval_count");

-- CreateIndex
CREATE INDEX "run_events_run_id_id_idx" ON "run_events"("run_id", "id");

-- CreateIndex
CREATE INDEX "knowledge_docs_problem_id_idx" ON "knowledge_docs"("problem_id");

-- CreateIndex
CREATE INDEX "knowledge_chunks_doc_id_idx" ON "knowledge_chunks"("doc_id");

-- CreateIndex
CREATE INDEX "retrievals_run_id_idx" ON "retrievals"("run_id");

-- CreateIndex
CREATE INDEX "retrieval_uses_chunk_id_idx" ON "retrieval_uses"("chunk_id");

-- CreateIndex
CREATE UNIQUE INDEX "retrieval_uses_candidate_id_chunk_id_key" ON "retrieval_uses"("candidate_id", "chunk_id");

-- CreateIndex
CREATE INDEX "lessons_status_idx" ON "lessons"("status");

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_problem_id_fkey" FOREIGN KEY ("problem_id") REFERENCES "problems"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "islands" ADD CONSTRAINT "islands_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "candidates" ADD CONSTRAINT "candidates_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "knowledge_chunks" ADD CONSTRAINT "knowledge_chunks_doc_id_fkey" FOREIGN KEY ("doc_id") REFERENCES "knowledge_docs"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Knowledge retrieval: full-text (GIN over the generated tsvector) and one partial HNSW index
-- per embedding model, each over a vector of that model's fixed dimension. This one serves the
-- offline default embedder (others are created when a model is first used).
CREATE INDEX "knowledge_chunks_tsv_idx" ON "knowledge_chunks" USING gin ("tsv");
CREATE INDEX "knowledge_chunks_embedding_lexical_hash_512_idx" ON "knowledge_chunks"
  USING hnsw (("embedding"::vector(512)) vector_cosine_ops) WHERE "embedding_model" = 'lexical-hash-512';
