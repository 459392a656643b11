-- Each webhook signs its messages with a secret of its own (x-fm-agent-signature), so a receiver can
-- tell FM Agent's messages from forged ones. Webhooks made before this get one now.
ALTER TABLE "webhooks" ADD COLUMN "secret" TEXT;
UPDATE "webhooks" SET "secret" = 'whsec_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
ALTER TABLE "webhooks" ALTER COLUMN "secret" SET NOT NULL;
