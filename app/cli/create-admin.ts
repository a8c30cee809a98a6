/**
 * Creates an administrator, or makes an existing user one (their sessions end, so the role applies
 * from their next sign-in). Uses the same configuration (environment) as the app.
 *
 *   npm run create-admin -- --email admin@example.com
 *
 * The password comes from ADMIN_PASSWORD, or is asked for on the terminal (not echoed), or is read
 * from the first line of standard input. For an existing user it is optional: Enter keeps theirs.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openBackends } from '../backends.js';
import { type AppConfig, loadConfig } from '../config.js';
import { hashPassword } from '../passwords.js';
import type { User } from '../users/repository.js';
import { checkEmail, checkNewPassword } from '../validate.js';

/** What `createAdmin` did. */
export interface CreateAdminResult {
  created: boolean;
  user: User;
  /** Sessions of an existing user ended by the role change. */
  sessionsEnded: number;
}

/**
 * Creates `email` as an admin with `password`, or promotes the existing user (setting the password
 * too when one is given) and ends their sessions.
 */
export async function createAdmin(
  config: AppConfig,
  input: { email: string; password: string | null },
): Promise<CreateAdminResult> {
  const backends = await openBackends(config);
  try {
    const existing = await backends.users.findByEmail(input.email);
    if (!existing) {
      if (input.password === null) throw new Error('a password is needed for a new account');
      const created = await backends.users.create({
        email: input.email,
        passwordHash: await hashPassword(input.password),
        role: 'admin',
      });
      if (!created) throw new Error('the account was created concurrently; run the command again');
      return { created: true, user: created, sessionsEnded: 0 };
    }
    if (input.password !== null) {
      await backends.users.setPasswordHash(existing.id, await hashPassword(input.password));
    }
    await backends.users.setRole(existing.id, 'admin');
    const ended = await backends.sessionStore.destroyByUser(existing.id);
    return { created: false, user: { ...existing, role: 'admin' }, sessionsEnded: ended.length };
  } finally {
    await backends.close();
  }
}

async function readHidden(prompt: string): Promise<string> {
  const { stdin, stdout } = process;
  stdout.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          stdout.write('\n');
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('cancelled'));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}

async function readLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function readPassword(existing: boolean): Promise<string | null> {
  const given =
    process.env.ADMIN_PASSWORD ??
    (process.stdin.isTTY
      ? await readHidden(existing ? 'New password (Enter keeps the current one): ' : 'Password: ')
      : await readLine());
  if (given === '' && existing) return null;
  const checked = checkNewPassword(given, given);
  if (!checked.ok) throw new Error(checked.message);
  return checked.value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { email: { type: 'string' } } });
  const email = checkEmail(values.email ?? '');
  if (!email.ok) throw new Error(`--email: ${email.message}`);
  const config = loadConfig(process.env);
  const backends = await openBackends(config);
  const existing = (await backends.users.findByEmail(email.value)) !== null;
  await backends.close();
  const result = await createAdmin(config, { email: email.value, password: await readPassword(existing) });
  console.log(
    result.created
      ? `Created administrator ${result.user.email}.`
      : `${result.user.email} is now an administrator (${result.sessionsEnded} sessions ended).`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`create-admin: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
