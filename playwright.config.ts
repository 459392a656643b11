import { defineConfig } from '@playwright/test'

const PORT = Number(process.env.FM_E2E_PORT ?? 3210)
// FM_E2E_DATA_DIR / FM_E2E_PORT let two sessions run end-to-end tests side by side
const DATA_DIR = process.env.FM_E2E_DATA_DIR ?? '.fm-agent/e2e'
// the key the scripted OpenAI-protocol test server expects: the console's runs name the variable,
// the server process holds the value (tests read it here too)
process.env.FM_E2E_OPENAI_KEY ??= 'sk-e2e-console-test-key-0000'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  // a guard against a hang, not a pace: every wait inside a test is for something to happen
  timeout: 300_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.FM_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    // a fresh embedded database per test session, the console built if needed
    command: `rm -rf ${DATA_DIR} && node bin/fm-agent.mjs start --port ${PORT} --data-dir ${DATA_DIR}`,
    url: `http://127.0.0.1:${PORT}/api/health`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      FM_ADMIN_EMAIL: 'admin@fm-agent.local',
      FM_ADMIN_PASSWORD: 'e2e-admin-password',
      NEXT_TELEMETRY_DISABLED: '1',
      FM_WORKERS: '2',
      // every test signs in through the login page, all from 127.0.0.1: more than the default 20 a
      // minute when the suite runs fast (the limit itself is tested in server/api/security.test.ts)
      FM_SIGNIN_LIMIT: '1000',
      // e2e/notifications.spec.ts receives webhooks on 127.0.0.1: allowed as an operator allows internal receivers
      FM_WEBHOOK_ALLOW_PRIVATE: '1',
      FM_E2E_OPENAI_KEY: process.env.FM_E2E_OPENAI_KEY,
    },
  },
})
