// The API as the admin, for tests that set up databases without the console.
import { expect, type APIRequestContext } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

/** The admin's token, as a header. */
export function auth() {
  const token = fs.readFileSync(path.join(process.env.PGFLEET_E2E_HOME!, "admin-token"), "utf8").trim();
  return { Authorization: `Bearer ${token}` };
}

/** Creates a database (`body` as POST /api/v1/databases takes it) and waits until it is available. */
export async function available(request: APIRequestContext, body: object & { name: string }) {
  const made = await request.post("/api/v1/databases", { headers: auth(), data: body });
  expect(made.status(), await made.text()).toBe(202);
  await expect
    .poll(async () => (await (await request.get(`/api/v1/databases/${body.name}`, { headers: auth() })).json()).phase, {
      timeout: 120_000,
    })
    .toBe("available");
}
