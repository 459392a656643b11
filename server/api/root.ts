import { accountRouter } from './routers/account.ts'
import { auditRouter } from './routers/audit.ts'
import { candidatesRouter } from './routers/candidates.ts'
import { guidanceRouter } from './routers/guidance.ts'
import { healthRouter } from './routers/health.ts'
import { knowledgeRouter } from './routers/knowledge.ts'
import { notificationsRouter } from './routers/notifications.ts'
import { problemsRouter } from './routers/problems.ts'
import { runsRouter } from './routers/runs.ts'
import { tokensRouter } from './routers/tokens.ts'
import { usersRouter } from './routers/users.ts'
import { workersRouter } from './routers/workers.ts'
import { createCallerFactory, router } from './trpc.ts'

export const appRouter = router({
  health: healthRouter,
  account: accountRouter,
  users: usersRouter,
  tokens: tokensRouter,
  problems: problemsRouter,
  audit: auditRouter,
  runs: runsRouter,
  knowledge: knowledgeRouter,
  candidates: candidatesRouter,
  guidance: guidanceRouter,
  workers: workersRouter,
  notifications: notificationsRouter,
})

export type AppRouter = typeof appRouter
export const createCaller = createCallerFactory(appRouter)
