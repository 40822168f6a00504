// Starts one real pgfleet (debug build, fresh home, port 0) for the run and
// stops it afterwards, even when tests fail. Its log is kept in
// output/server.log for post-mortem.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setUpAccounts } from "./accounts";

const root = path.resolve(__dirname, "..");

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.PGFLEET_BIN ?? path.join(root, "target", "debug", "pgfleet");
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run 'cargo build' first`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pgfleet-e2e-"));
  const outDir = path.join(__dirname, "output");
  fs.mkdirSync(outDir, { recursive: true });
  const log = fs.createWriteStream(path.join(outDir, "server.log"));

  const server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--home", home], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stderr.pipe(log);

  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error("pgfleet did not report its address within 60 s")), 60_000);
    let seen = "";
    server.stdout.on("data", (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      const m = seen.match(/pgfleet is serving addr=(\S+)/);
      if (m) {
        clearTimeout(deadline);
        resolve(`http://${m[1]}`);
      }
    });
    server.on("exit", (code) => {
      clearTimeout(deadline);
      reject(new Error(`pgfleet exited early (code ${code}); see end2end/output/server.log`));
    });
  });
  process.env.PGFLEET_E2E_URL = url;
  process.env.PGFLEET_E2E_HOME = home;
  try {
    await setUpAccounts(url, home);
  } catch (e) {
    server.kill("SIGKILL");
    await stopDatabases(home);
    throw e;
  }

  return async () => {
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    server.kill("SIGTERM");
    const killer = setTimeout(() => server.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(killer);
    log.end();
    // Databases outlive pgfleet by design; the test run stops them.
    await stopDatabases(home);
    fs.rmSync(home, { recursive: true, force: true });
  };
}

/** Stops every PostgreSQL server under `home` (fast shutdown, then kill). */
async function stopDatabases(home: string): Promise<void> {
  const root = path.join(home, "databases");
  if (!fs.existsSync(root)) return;
  const pids: number[] = [];
  for (const name of fs.readdirSync(root)) {
    const pidfile = path.join(root, name, "data", "postmaster.pid");
    if (!fs.existsSync(pidfile)) continue;
    const pid = Number(fs.readFileSync(pidfile, "utf8").split("\n")[0]);
    if (pid > 0) pids.push(pid);
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      return !/\) Z/.test(stat);
    } catch {
      return false;
    }
  };
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGINT");
  const deadline = Date.now() + 20_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
}
