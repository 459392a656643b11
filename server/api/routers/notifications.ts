// Notifications: the runs a user watches, webhooks (the user's own, and a run's), their recent
// deliveries, a test message, and the feed from which the browser raises its notifications.
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { NOTIFY_EVENTS, NotifyEvents, WebhookUrl } from '../../../client-safe/notify-messages.ts'
import {
  myNotifications,
  rotateWebhookSecret,
  notificationFeed,
  runNotifications,
  sendTest,
  setWebhook,
  watchRun,
} from '../../notify/service.ts'
import { AttemptWindow, windowFor } from '../../auth/attempts.ts'
import { type Actor, roleAtLeast } from '../../auth/roles.ts'
import { expertProcedure, router, viewerProcedure } from '../trpc.ts'
import { RunIdInput } from './runs.ts'

/** test messages a user may have the server send: each is a request to an address of their choosing and two audit rows */
const testWindows = new WeakMap<object, AttemptWindow>()
function testsAllowed(app: object, actor: Actor) {
  const tests = windowFor(app, testWindows, () => new AttemptWindow(10, 60_000))
  const key = actor.id ?? actor.label
  const wait = tests.waitS(key)
  if (wait !== null)
    throw new TRPCError({
      code: 'TOO_MANY_REQUESTS',
      message: `10 test messages a minute at most: try again in ${wait} s`,
    })
  tests.record(key)
}

export const FeedInput = z.object({ after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable() })
export const WatchInput = RunIdInput.extend({ watching: z.boolean() })
export const MyWebhookInput = z.object({ url: WebhookUrl.nullable(), events: NotifyEvents.default([...NOTIFY_EVENTS]) })
export const RunWebhookInput = RunIdInput.extend({
  url: WebhookUrl.nullable(),
  events: NotifyEvents.default([...NOTIFY_EVENTS]),
})

// an expert may replace a run's webhook, but another expert's address (and any token in it) stays theirs
const showUrl = (actor: Actor) =>
  roleAtLeast(actor.role, 'admin') ? true : roleAtLeast(actor.role, 'expert') ? ('own' as const) : false

export const notificationsRouter = router({
  feed: viewerProcedure
    .input(FeedInput)
    .query(({ ctx, input }) => notificationFeed(ctx.app.db, ctx.actor, input.after)),
  mine: viewerProcedure.query(({ ctx }) => myNotifications(ctx.app.db, ctx.actor)),
  run: viewerProcedure
    .input(RunIdInput)
    .query(({ ctx, input }) => runNotifications(ctx.app.db, ctx.actor, input.runId, { showUrl: showUrl(ctx.actor) })),
  watch: viewerProcedure
    .input(WatchInput)
    .mutation(({ ctx, input }) => watchRun(ctx.app.db, ctx.actor, input.runId, input.watching)),
  /** the user's own webhook: messages about the runs they watch */
  setMyWebhook: viewerProcedure
    .input(MyWebhookInput)
    .mutation(({ ctx, input }) => setWebhook(ctx.app.db, ctx.actor, { kind: 'user' }, input.url, input.events)),
  /** a run's webhook: messages about that run, whoever watches it */
  setRunWebhook: expertProcedure.input(RunWebhookInput).mutation(({ ctx, input }) =>
    setWebhook(ctx.app.db, ctx.actor, { kind: 'run', runId: input.runId }, input.url, input.events, {
      showUrl: showUrl(ctx.actor),
    }),
  ),
  /** a new signing secret for the user's own webhook, or a run's (for whoever sees its secret) */
  rotateMySecret: viewerProcedure.mutation(({ ctx }) => rotateWebhookSecret(ctx.app.db, ctx.actor, { kind: 'user' })),
  rotateRunSecret: expertProcedure
    .input(RunIdInput)
    .mutation(({ ctx, input }) =>
      rotateWebhookSecret(ctx.app.db, ctx.actor, { kind: 'run', runId: input.runId }, { showUrl: showUrl(ctx.actor) }),
    ),
  // a test message answers within seconds: two attempts
  testMine: viewerProcedure.mutation(({ ctx }) => {
    testsAllowed(ctx.app, ctx.actor)
    return sendTest(ctx.app.db, ctx.actor, { kind: 'user' }, { attempts: 2 })
  }),
  testRun: expertProcedure.input(RunIdInput).mutation(({ ctx, input }) => {
    testsAllowed(ctx.app, ctx.actor)
    return sendTest(ctx.app.db, ctx.actor, { kind: 'run', runId: input.runId }, { attempts: 2 })
  }),
})
