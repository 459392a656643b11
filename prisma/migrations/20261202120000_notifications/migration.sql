-- Notifications: the runs a user watches, the webhook URLs that receive a JSON message when a run
-- completes, fails or stalls (one per user, one per run), and every delivery with its outcome.

-- CreateTable
CREATE TABLE "run_watchers" (
    "run_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_watchers_pkey" PRIMARY KEY ("run_id","user_id")
);

-- CreateTable
CREATE TABLE "webhooks" (
    "id" TEXT NOT NULL,
    "user_id" TEXT,
    "run_id" TEXT,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" TEXT NOT NULL,
    "webhook_id" TEXT NOT NULL,
    "run_id" TEXT,
    "event_id" BIGINT,
    "type" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "http_status" INTEGER,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "run_watchers_user_id_idx" ON "run_watchers"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "webhooks_user_id_key" ON "webhooks"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "webhooks_run_id_key" ON "webhooks"("run_id");

-- CreateIndex
CREATE INDEX "notification_deliveries_webhook_id_created_at_idx" ON "notification_deliveries"("webhook_id", "created_at");

-- CreateIndex
CREATE INDEX "notification_deliveries_run_id_idx" ON "notification_deliveries"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "notification_deliveries_event_id_webhook_id_key" ON "notification_deliveries"("event_id", "webhook_id");
