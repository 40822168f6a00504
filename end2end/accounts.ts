// Team accounts for the tests, made the way people make them: the first
// admin signs in with the one-time password pgfleet wrote and chooses a
// password; the admin invites a member through the API; each session is
// saved as a Playwright storage state so a browser context starts signed in.
import * as fs from "node:fs";
import * as path from "node:path";

export const ADMIN_PASSWORD = "e2e admin password";
export const MEMBER = "mia";
export const MEMBER_PASSWORD = "e2e member password";
export const outDir = path.join(__dirname, "output");
export const adminState = path.join(outDir, "admin-state.json");
export const memberState = path.join(outDir, "member-state.json");

interface Session {
  secret: string;
  csrf: string;
}

async function signIn(url: string, name: string, password: string): Promise<Session> {
  const r = await fetch(`${url}/api/sign_in`, {
    method: "POST",
    body: new URLSearchParams({ name, password }),
  });
  if (!r.ok) throw new Error(`sign-in as ${name} failed: ${r.status} ${await r.text()}`);
  const cookie = (n: string) => {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(";");
      if (pair.startsWith(`${n}=`)) return pair.slice(n.length + 1);
    }
    throw new Error(`no ${n} cookie`);
  };
  return { secret: cookie("pgfleet_session"), csrf: cookie("pgfleet_csrf") };
}

async function choosePassword(url: string, s: Session, current: string, chosen: string): Promise<void> {
  const r = await fetch(`${url}/api/change_password`, {
    method: "POST",
    headers: { cookie: `pgfleet_session=${s.secret}; pgfleet_csrf=${s.csrf}`, "x-csrf-token": s.csrf },
    body: new URLSearchParams({ current, new: chosen, repeat: chosen }),
  });
  if (!r.ok) throw new Error(`choosing a password failed: ${r.status} ${await r.text()}`);
}

function saveState(file: string, url: string, s: Session): void {
  const domain = new URL(url).hostname;
  const cookie = (name: string, value: string, httpOnly: boolean, sameSite: "Lax" | "Strict") => ({
    name, value, domain, path: "/", expires: -1, httpOnly, secure: false, sameSite,
  });
  const state = {
    cookies: [cookie("pgfleet_session", s.secret, true, "Lax"), cookie("pgfleet_csrf", s.csrf, false, "Strict")],
    origins: [],
  };
  fs.writeFileSync(file, JSON.stringify(state, null, 2));
}

/** The admin and a member, signed in, with their storage states saved. */
export async function setUpAccounts(url: string, home: string): Promise<void> {
  const once = fs.readFileSync(path.join(home, "admin-password"), "utf8").trim();
  const admin = await signIn(url, "admin", once);
  await choosePassword(url, admin, once, ADMIN_PASSWORD);
  saveState(adminState, url, admin);

  const token = fs.readFileSync(path.join(home, "admin-token"), "utf8").trim();
  const r = await fetch(`${url}/api/v1/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: MEMBER, role: "member" }),
  });
  if (r.status !== 201) throw new Error(`inviting ${MEMBER} failed: ${r.status} ${await r.text()}`);
  const invitation = await r.json();
  const member = await signIn(url, MEMBER, invitation.one_time_password);
  await choosePassword(url, member, invitation.one_time_password, MEMBER_PASSWORD);
  saveState(memberState, url, member);
}
