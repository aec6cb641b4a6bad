#!/usr/bin/env node
import { resolve as resolvePath } from 'node:path';
import {
  DnsStatusSchema,
  ForgetReplicaResponseSchema,
  MasterStatusSchema,
  ProblemListSchema,
  RollbackResponseSchema,
  VersionListSchema,
} from '@outpost/protocol';
import { ZodError } from 'zod';
import {
  COMPACT_FLAGS,
  describeFlags,
  FORGET_FLAGS,
  flagAsGiven,
  fromEnvironment,
  MASTER_FLAGS,
  REPLICA_FLAGS,
  ROLLBACK_FLAGS,
  readFlags,
  STATUS_FLAGS,
  VERIFY_FLAGS,
} from './args.js';
import { releaseEarlyHangups, releaseEarlyStop } from './early-hangups.js';
import { UsageError } from './errors.js';
import { ListenError, type ListenFlags, listenProblem } from './listen-problem.js';
import {
  callMaster,
  DEFAULT_TIMEOUT_MS,
  parseAnswer,
  ROLLBACK_TIMEOUT_MS,
  timeoutOf,
} from './master-client.js';
import { ServiceSignals } from './service-signals.js';
import { renderDns, renderStatus, renderVersions, UNHEALTHY } from './status-table.js';

const USAGE = `outpost — verified copies of a content tree, from a master to regional replicas

usage:
  outpost master  --content DIR --data DIR [--host 127.0.0.1] [--port 7070]
${describeFlags(MASTER_FLAGS)}

  outpost replica --name NAME --region REGION --master URL --data DIR [--host ..] [--port 7080]
${describeFlags(REPLICA_FLAGS)}

  outpost status  --master URL [--json]     sync status of every replica; exits 1 if one is behind, offline or failing,
                                            or the master cannot publish
${describeFlags(STATUS_FLAGS)}

  outpost versions --master URL [--json]    the versions the master keeps, newest first
${describeFlags(STATUS_FLAGS)}

  outpost rollback --master URL --to N      publish version N's content as a new version (numbers only grow)
${describeFlags(ROLLBACK_FLAGS)}

  outpost forget  --master URL --name NAME  drop an offline replica from the master's status (an office closed,
                                            a replica renamed); a replica that runs is refused
${describeFlags(FORGET_FLAGS)}

  outpost verify  --data DIR [--json]       re-hash every chunk, content and version root of the stores in DIR;
                                            exits 1 when something is damaged
${describeFlags(VERIFY_FLAGS)}

  outpost compact --data DIR [--json]       give the free pages of the stores in DIR back to the volume (what
                                            collected versions left); the service must be stopped
${describeFlags(COMPACT_FLAGS)}

  outpost help (or COMMAND --help)          this text

secrets come only from the environment:
  OUTPOST_TOKEN        replication token replicas present to the master
  OUTPOST_PREVIOUS_TOKEN  (master) the replication token being retired, accepted beside OUTPOST_TOKEN
  OUTPOST_ADMIN_TOKEN  bearer token of the admin REST API (and of 'outpost status')
  OUTPOST_PREVIOUS_ADMIN_TOKEN  the admin token being retired, accepted beside OUTPOST_ADMIN_TOKEN
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Only a service survives SIGHUP; any other command ends by it, as by default.
  if (command !== 'master' && command !== 'replica') keepSignalDefaults();
  // `outpost status --help` is how most people ask a command what it takes: the usage, exit 0
  // (it was refused as an unknown option, exit 2).
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const env = process.env;
  const secrets = { token: env.OUTPOST_TOKEN || undefined, adminToken: env.OUTPOST_ADMIN_TOKEN || undefined };
  // During a rotation, each service also takes the admin token being retired.
  const previousAdminToken = env.OUTPOST_PREVIOUS_ADMIN_TOKEN || undefined;
  switch (command) {
    // Each service is loaded only by the command that runs it: `status` or `help` would
    // otherwise load fastify, SQLite, chokidar and both services first (0.45 s of a 0.5 s run).
    case 'master': {
      // Signals are taken before the service's code loads: a SIGHUP meanwhile would end it.
      const signals = new ServiceSignals();
      const { buildMaster } = await import('@outpost/master');
      // Stopped while it loaded: nothing is open yet, so there is nothing to stop.
      if (signals.stopAsked) return 0;
      const flags = readFlags(rest, MASTER_FLAGS, env);
      return saysUserErrors('master', flags, async () => {
        const previousToken = env.OUTPOST_PREVIOUS_TOKEN || undefined;
        const master = buildMaster({ ...flags, ...secrets, previousToken, previousAdminToken } as never);
        // A master starting over a large tree listens for minutes before it is ready, and a
        // stop meanwhile must be as clean as one after: its stop winds a start down.
        await signals.run(master, { stopDuringStart: true });
        return 0;
      });
    }
    case 'replica': {
      const signals = new ServiceSignals();
      const { noCompress, noWireCompression, noPrefetch, noDirectLane, ...flags } = readFlags(
        rest,
        REPLICA_FLAGS,
        env,
      );
      const { buildReplica } = await import('@outpost/replica');
      if (signals.stopAsked) return 0;
      return saysUserErrors('replica', flags, async () => {
        const replica = buildReplica({
          ...flags,
          ...(noCompress ? { compress: false } : {}),
          ...(noWireCompression ? { wireCompression: false } : {}),
          ...(noPrefetch ? { prefetch: false } : {}),
          ...(noDirectLane ? { directLane: false } : {}),
          ...secrets,
          previousAdminToken,
        } as never);
        // A SIGTERM during the start (it takes milliseconds) stops the replica once started,
        // exit 0; it used to come before any handler, and its default action killed the process.
        await signals.run(
          {
            log: replica.log,
            start: () => replica.start(),
            stop: () => replica.stop(),
            reload: () => void replica.reload(),
          },
          { stopDuringStart: false },
        );
        return 0;
      });
    }
    case 'status':
      return status(readFlags(rest, STATUS_FLAGS, env), secrets.adminToken);
    case 'versions':
      return versions(readFlags(rest, STATUS_FLAGS, env), secrets.adminToken);
    case 'rollback':
      return rollback(readFlags(rest, ROLLBACK_FLAGS, env), secrets.adminToken);
    case 'forget':
      return forget(readFlags(rest, FORGET_FLAGS, env), secrets.adminToken);
    case 'compact': {
      const flags = readFlags(rest, COMPACT_FLAGS, env);
      const { compactCommand } = await import('./compact-command.js');
      return compactCommand(flags.data, flags.json === 'true', process.stdout, process.stderr);
    }
    case 'verify': {
      const flags = readFlags(rest, VERIFY_FLAGS, env);
      const { verifyCommand } = await import('./verify-command.js');
      return verifyCommand(flags.data, flags.json === 'true', process.stdout, process.stderr);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`outpost: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

/**
 * Gives SIGHUP, SIGTERM and SIGINT back their default action: one that came while the entry
 * held it ends the command now, as it would have then.
 */
function keepSignalDefaults(): void {
  // Set before the entry's handlers go: a signal taken by those but not yet dispatched (Node
  // 22+ takes it once the import ends) reaches these, not nothing.
  const asByDefault = (signal: NodeJS.Signals) => {
    process.off(signal, asByDefault);
    process.kill(process.pid, signal);
  };
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.on(signal, asByDefault);
  if (releaseEarlyHangups() > 0) asByDefault('SIGHUP');
  const stop = releaseEarlyStop();
  if (stop) asByDefault(stop);
}

/**
 * Runs a service, turning what the user must fix into one line saying what to do: an address
 * it cannot listen on, and a master's damaged store. (A master's store is not moved aside by
 * itself, as a replica's is: it holds the versions kept for rollback, and only the admin may
 * give them up.)
 */
async function saysUserErrors(
  role: 'master' | 'replica',
  flags: ListenFlags & { data?: string },
  run: () => Promise<number>,
): Promise<number> {
  try {
    return await run();
  } catch (err) {
    const listen = listenProblem(err, flags);
    if (listen) throw new ListenError(listen);
    const { isStoreDamage, StoreDamagedError } = await import('@outpost/store');
    if (role !== 'master' || !isStoreDamage(err)) throw err;
    const data = flags.data;
    const file = resolvePath(data ?? '.', 'master.sqlite');
    throw new StoreDamagedError(
      `the store ${file} is damaged (${(err as Error).message}): 'outpost verify --data ${resolvePath(data ?? '.')}' says more. To start anew from --content, move ${file} (and ${file}-wal) aside and start again: the versions it kept are lost, and replicas follow the new ones`,
    );
  }
}

async function versions(flags: Record<string, string>, adminToken: string | undefined): Promise<number> {
  const timeoutMs = timeoutOf(flags, DEFAULT_TIMEOUT_MS);
  const deadline = Date.now() + timeoutMs;
  const res = await callMaster('versions', flags, adminToken, '/versions', { timeoutMs, deadline });
  if (!res.ok) return 2;
  const list = parseAnswer(VersionListSchema, res.body, flags.master!, '/versions');
  process.stdout.write(flags.json ? `${JSON.stringify(list, null, 2)}\n` : `${renderVersions(list)}\n`);
  return 0;
}

async function rollback(flags: Record<string, string>, adminToken: string | undefined): Promise<number> {
  // Decimal digits only: Number() also took '0x1', '1e0' and ' 1 ' for version 1.
  const to = /^\d+$/.test(flags.to ?? '') ? Number(flags.to) : Number.NaN;
  // 0 goes to the master too, which says it does not keep it (404), as for any other version.
  if (!Number.isSafeInteger(to))
    throw new UsageError(
      `rollback needs ${flagAsGiven('to')} N, a kept version (a whole number in decimal digits)${flags.to === undefined ? '' : `, not '${flags.to}'`}`,
    );
  const timeoutMs = timeoutOf(flags, ROLLBACK_TIMEOUT_MS);
  const res = await callMaster('rollback', flags, adminToken, '/rollback', {
    body: { to },
    timeoutMs,
    deadline: Date.now() + timeoutMs,
    afterTimeout: "the rollback may still be published: 'outpost versions' shows whether it was",
  });
  if (!res.ok) return 2;
  const r = parseAnswer(RollbackResponseSchema, res.body, flags.master!, '/rollback');
  process.stdout.write(
    r.created
      ? `published version ${r.version} with the content of version ${to} (root ${r.root.slice(0, 12)})\n`
      : `the current version ${r.version} already has the content of version ${to}; nothing published\n`,
  );
  return 0;
}

async function forget(flags: Record<string, string>, adminToken: string | undefined): Promise<number> {
  if (!flags.name) throw new UsageError('forget needs --name NAME, a replica the master shows offline');
  const timeoutMs = timeoutOf(flags, DEFAULT_TIMEOUT_MS);
  const path = `/replicas/${encodeURIComponent(flags.name)}`;
  const res = await callMaster('forget', flags, adminToken, path, {
    method: 'DELETE',
    timeoutMs,
    deadline: Date.now() + timeoutMs,
  });
  if (!res.ok) return 2;
  const r = parseAnswer(ForgetReplicaResponseSchema, res.body, flags.master!, path);
  process.stdout.write(
    `forgot replica ${r.forgotten} (region ${r.region}, at version ${r.version}, last seen ${r.lastSeenAt ?? 'never'})\n`,
  );
  return 0;
}

async function status(flags: Record<string, string>, adminToken: string | undefined): Promise<number> {
  const timeoutMs = timeoutOf(flags, DEFAULT_TIMEOUT_MS);
  // One --timeout-ms for the two or three requests status makes, not one each.
  const deadline = Date.now() + timeoutMs;
  const res = await callMaster('status', flags, adminToken, '/status', { timeoutMs, deadline });
  if (!res.ok) return 2;
  const body = res.body;
  const parsed = MasterStatusSchema.safeParse(body);
  if (!parsed.success) {
    const b = body as { role?: unknown; name?: unknown; region?: unknown } | null;
    process.stderr.write(
      b?.role === 'replica'
        ? `outpost: ${flags.master} is replica ${String(b.name)} (region ${String(b.region)}), not a master: --master takes the master's URL\n`
        : `outpost: ${flags.master} answered with something other than a master's status: ${parsed.error.issues[0]?.message}\n`,
    );
    return 2;
  }
  const s = parsed.data;
  // The DNS section, when the master serves a zone (404: it serves none).
  const dnsRes = await callMaster('status', flags, adminToken, '/dns', {
    quietStatus: 404,
    timeoutMs,
    deadline,
  });
  // 404: the master serves no zone. Anything else (no answer in time) was said, and fails status.
  if (!dnsRes.ok && dnsRes.status !== 404) return 2;
  const dns = dnsRes.ok ? parseAnswer(DnsStatusSchema, dnsRes.body, flags.master!, '/dns') : null;
  if (flags.json) {
    // Status names the first refused paths only; --json lists them all.
    let problems = s.problems;
    if ((s.problemCount ?? 0) > (problems?.length ?? 0)) {
      const all = await callMaster('status', flags, adminToken, '/problems', { timeoutMs, deadline });
      if (!all.ok) return 2;
      problems = parseAnswer(ProblemListSchema, all.body, flags.master!, '/problems').problems;
    }
    const full = { ...(body as object), ...(problems ? { problems } : {}), ...(dns ? { dns } : {}) };
    process.stdout.write(`${JSON.stringify(full, null, 2)}\n`);
  } else process.stdout.write(`${renderStatus(s)}\n${dns ? `\n${renderDns(dns)}\n` : ''}`);
  return s.publishFailure || s.replicas.some((r) => UNHEALTHY.has(r.state)) ? 1 : 0;
}

/** The config keys read from the environment only (OUTPOST_TOKEN, …), as the ZodError names them. */
const SECRET_KEYS = new Set(['token', 'previous-token', 'admin-token', 'previous-admin-token']);

/** Errors of the services that say what the user must fix, by name, and the exit code of each. */
const USER_ERRORS: Record<string, number> = {
  ConfigError: 2,
  UnexpectedAnswerError: 2,
  StoreInUseError: 1,
  StoreDamagedError: 1,
  ListenError: 1,
};

/**
 * Exits once stdout and stderr have taken all that was written. To a pipe (`outpost status
 * --json | jq`) Node writes asynchronously, and process.exit() dropped what the pipe had not
 * taken yet: the status of a large fleet came cut at 64 KiB, JSON that did not parse.
 */
function exitWhenWritten(code: number): void {
  let left = 2;
  const done = () => {
    if (--left === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // A reader gone (`| head -1`) is no reason to fail otherwise.
    stream.on('error', () => undefined);
    stream.write('', done);
  }
}

/**
 * A whole number past 2^53 fails two checks, zod's own limit on an integer
 * (`<=9007199254740991`) and the flag's: only the flag's is worth saying.
 */
function withoutSafeIntegerNoise(issues: ZodError['issues']): ZodError['issues'] {
  const noise = (i: ZodError['issues'][number]) => i.message.includes(String(Number.MAX_SAFE_INTEGER));
  return issues.filter(
    (i) => !noise(i) || !issues.some((o) => o !== i && !noise(o) && o.path[0] === i.path[0]),
  );
}

main(process.argv.slice(2)).then(
  (code) => exitWhenWritten(code),
  (err: unknown) => {
    if (err instanceof ZodError) {
      const lines = withoutSafeIntegerNoise(err.issues).map((i) => {
        const key = String(i.path[0] ?? '?');
        const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        // Secrets come from the environment only: there is no --token to name.
        if (SECRET_KEYS.has(flag)) return `  OUTPOST_${flag.toUpperCase().replace(/-/g, '_')}: ${i.message}`;
        // A required flag left out read 'Invalid input: expected string, received undefined'.
        const missing = i.code === 'invalid_type' && /received undefined$/.test(i.message);
        const said = missing
          ? `missing: give --${flag}, or set OUTPOST_${flag.toUpperCase().replace(/-/g, '_')}`
          : i.message;
        const variable = fromEnvironment.get(key);
        return `  ${variable === undefined ? '' : `${variable} (`}--${flag}${variable === undefined ? '' : ')'}: ${said}`;
      });
      process.stderr.write(`outpost: invalid options:\n${lines.join('\n')}\n`);
      return exitWhenWritten(2);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`outpost: ${(err as Error).message}\n`);
      return exitWhenWritten(2);
    }
    // A content directory that is not there, or a data directory another process holds, is
    // the user's to sort out, not a crash: one line, no stack.
    const exitCode = USER_ERRORS[(err as Error).name];
    if (exitCode !== undefined) {
      process.stderr.write(`outpost: ${(err as Error).message}\n`);
      return exitWhenWritten(exitCode);
    }
    process.stderr.write(`outpost: ${(err as Error).stack ?? String(err)}\n`);
    exitWhenWritten(1);
  },
);
