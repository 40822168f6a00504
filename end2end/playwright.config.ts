// Playwright for pgfleet: Debian's chromium (never a downloaded browser),
// one real pgfleet server started by global-setup.ts for the whole run.
import { defineConfig } from "@playwright/test";
import { adminState } from "./accounts";

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["html", { outputFolder: "playwright-report", open: "never" }]],
  globalSetup: "./global-setup.ts",
  use: {
    baseURL: process.env.PGFLEET_E2E_URL,
    // Every context starts signed in as the admin unless a test says otherwise.
    storageState: adminState,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
