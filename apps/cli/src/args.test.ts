import { describe, expect, it } from 'vitest';
import {
  COMMON_FLAGS,
  describeFlags,
  FORGET_FLAGS,
  fromEnvironment,
  MASTER_FLAGS,
  REPLICA_FLAGS,
  ROLLBACK_FLAGS,
  readFlags,
  STATUS_FLAGS,
} from './args.js';
import { UsageError } from './errors.js';

describe('readFlags', () => {
  it('reads flags into camelCased keys', () => {
    expect(
      readFlags(
        [
          '--content',
          '/srv/content',
          '--data=/var/lib/outpost',
          '--quiet-ms',
          '50',
          '--max-delay-ms',
          '2000',
          '--log-level',
          'debug',
        ],
        MASTER_FLAGS,
        {},
      ),
    ).toEqual({
      content: '/srv/content',
      data: '/var/lib/outpost',
      quietMs: '50',
      maxDelayMs: '2000',
      logLevel: 'debug',
    });
  });

  it('falls back to OUTPOST_* environment variables', () => {
    const env = {
      OUTPOST_NAME: 'uk-london',
      OUTPOST_REGION: 'uk',
      OUTPOST_MASTER: 'http://hq.example:7070',
      OUTPOST_POLL_MS: '500',
      OUTPOST_LOG_LEVEL: 'warn',
      OUTPOST_HEARTBEAT_MS: '1000',
    };
    expect(readFlags([], REPLICA_FLAGS, env)).toEqual({
      name: 'uk-london',
      region: 'uk',
      master: 'http://hq.example:7070',
      pollMs: '500',
      logLevel: 'warn',
      heartbeatMs: '1000',
    });
  });

  it('prefers a flag to the environment', () => {
    const env = { OUTPOST_PORT: '9999', OUTPOST_HOST: '0.0.0.0' };
    expect(readFlags(['--port', '7081'], REPLICA_FLAGS, env)).toEqual({ port: '7081', host: '0.0.0.0' });
  });

  it('reads only the variables of its own flags', () => {
    const env = {
      OUTPOST_TOKEN: 'secret',
      OUTPOST_CONTENT: '/srv',
      OUTPOST_MASTER: 'http://hq:7070',
      PORT: '1',
    };
    expect(readFlags([], STATUS_FLAGS, env)).toEqual({ master: 'http://hq:7070' });
  });

  it('leaves out flags given nowhere', () => {
    expect(readFlags([], MASTER_FLAGS, {})).toEqual({});
  });

  it('reads --json as a switch', () => {
    expect(readFlags(['--json'], STATUS_FLAGS, {})).toEqual({ json: 'true' });
    expect(readFlags(['--master', 'http://hq:7070'], STATUS_FLAGS, {})).toEqual({ master: 'http://hq:7070' });
    expect(readFlags([], STATUS_FLAGS, { OUTPOST_JSON: '1' })).toEqual({ json: 'true' });
    expect(readFlags([], STATUS_FLAGS, { OUTPOST_JSON: 'false' })).toEqual({});
    expect(readFlags([], MASTER_FLAGS, { OUTPOST_PORT: '' })).toEqual({});
    expect(() => readFlags(['--json=yes'], STATUS_FLAGS, {})).toThrow();
  });

  it("takes the words for on and off in a switch's variable, and refuses any other value", () => {
    for (const on of ['1', 'true', 'YES', 'On'])
      expect(readFlags([], STATUS_FLAGS, { OUTPOST_JSON: on }), on).toEqual({ json: 'true' });
    for (const off of ['0', 'false', 'No', 'OFF', ''])
      expect(readFlags([], STATUS_FLAGS, { OUTPOST_JSON: off }), off).toEqual({});
    // A typo was taken as off without a word: the service ran with the opposite of what was meant.
    for (const typo of ['ture', 'y', 'bogus', '2'])
      expect(() => readFlags([], REPLICA_FLAGS, { OUTPOST_NO_COMPRESS: typo }), typo).toThrow(
        new UsageError(
          `OUTPOST_NO_COMPRESS='${typo}': --no-compress is a switch: 1, true, yes or on for on; 0, false, no, off or empty for off`,
        ),
      );
    // The flag wins over its variable, whatever that holds.
    expect(readFlags(['--json'], STATUS_FLAGS, { OUTPOST_JSON: 'ture' })).toEqual({ json: 'true' });
  });

  it('notes which values came from a variable, so that an error names it', () => {
    fromEnvironment.clear();
    readFlags(['--port', '7070'], MASTER_FLAGS, { OUTPOST_QUIET_MS: 'x', OUTPOST_PORT: '1' });
    expect([...fromEnvironment]).toEqual([['quietMs', 'OUTPOST_QUIET_MS']]);
  });

  it('joins a flag given more than once with ;, as its variable holds them', () => {
    const args = ['--content', '/c', '--exclude', '.git', '--exclude', '*.log;/drafts'];
    expect(readFlags(args, MASTER_FLAGS, {}).exclude).toBe('.git;*.log;/drafts');
    expect(readFlags(['--content', '/c'], MASTER_FLAGS, { OUTPOST_EXCLUDE: '.git;*.log' }).exclude).toBe(
      '.git;*.log',
    );
    expect(() => readFlags(['--exclude', '.git', '--exclude', ''], MASTER_FLAGS, {})).toThrow(UsageError);
  });

  it('refuses what a command that changes the master acts on, given twice, naming both values', () => {
    expect(() => readFlags(['--master', 'http://m', '--to', '5', '--to', '6'], ROLLBACK_FLAGS, {})).toThrow(
      new UsageError("--to given twice ('5' and '6'): give it once"),
    );
    expect(() =>
      readFlags(['--master', 'http://a', '--name', 'x', '--master=http://b'], FORGET_FLAGS, {}),
    ).toThrow(/--master given twice/);
    // A service's flags: the last is taken, as after a wrapper's defaults.
    expect(readFlags(['--port', '7070', '--port=7071'], MASTER_FLAGS, {}).port).toBe('7071');
  });

  it('throws on an unknown flag', () => {
    expect(() => readFlags(['--nope'], MASTER_FLAGS, {})).toThrow(/nope/);
    expect(() => readFlags(['--tokn', 'x'], MASTER_FLAGS, {})).toThrow(/tokn/);
    // Flags of another command are unknown here.
    expect(() => readFlags(['--content', '/srv'], REPLICA_FLAGS, {})).toThrow(/content/);
    expect(() => readFlags(['--json'], MASTER_FLAGS, {})).toThrow(/json/);
    // Secrets are never flags: they would show in `ps`.
    expect(() => readFlags(['--token', 'secret'], MASTER_FLAGS, {})).toThrow(/token/);
    expect(() => readFlags(['--admin-token', 'secret'], STATUS_FLAGS, {})).toThrow(/admin-token/);
  });

  it('refuses an explicit empty flag, where an empty variable is unset', () => {
    for (const argv of [['--port', ''], ['--port='], ['--data', '']])
      expect(() => readFlags(argv, MASTER_FLAGS, {}), argv.join(' ')).toThrow(
        new UsageError(
          `--${argv[0]!.replace(/^--|=$/g, '')} '': an empty value; give one (a flag left out takes its default, where it has one)`,
        ),
      );
    expect(readFlags([], MASTER_FLAGS, { OUTPOST_PORT: '', OUTPOST_DATA: '' })).toEqual({});
  });

  it('throws on a positional argument or a flag without its value', () => {
    expect(() => readFlags(['extra'], MASTER_FLAGS, {})).toThrow();
    expect(() => readFlags(['--port'], MASTER_FLAGS, {})).toThrow(/port/);
  });
});

describe('flag tables', () => {
  it('names every variable OUTPOST_ and the flag in upper snake case', () => {
    for (const f of [...MASTER_FLAGS, ...REPLICA_FLAGS, ...STATUS_FLAGS, ...COMMON_FLAGS]) {
      expect(f.env).toBe(`OUTPOST_${f.name.toUpperCase().replaceAll('-', '_')}`);
      expect(f.help.length).toBeGreaterThan(0);
    }
    expect(MASTER_FLAGS.find((f) => f.name === 'max-delay-ms')!.env).toBe('OUTPOST_MAX_DELAY_MS');
  });

  it('has no flag twice in a command', () => {
    for (const flags of [MASTER_FLAGS, REPLICA_FLAGS, STATUS_FLAGS]) {
      const names = flags.map((f) => f.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('takes the replica that forget drops only from the command line', () => {
    const env = { OUTPOST_NAME: 'uk-london', OUTPOST_MASTER: 'http://hq:7070' };
    expect(readFlags([], FORGET_FLAGS, env)).toEqual({ master: 'http://hq:7070' });
    expect(readFlags(['--name', 'asia-tokyo'], FORGET_FLAGS, env)).toEqual({
      master: 'http://hq:7070',
      name: 'asia-tokyo',
    });
    expect(describeFlags(FORGET_FLAGS)).toMatch(
      /^ {2}--name {11}the replica to forget, as status names it \(from the command line only\)$/m,
    );
    expect(describeFlags(FORGET_FLAGS)).not.toContain('OUTPOST_NAME');
  });

  it('describes flags one a line with their variable', () => {
    expect(describeFlags(STATUS_FLAGS)).toBe(
      [
        '  --master         the master URL [OUTPOST_MASTER]',
        '  --json           print the raw JSON [OUTPOST_JSON]',
        '  --timeout-ms     give up on a master that has not answered within this long (default 30000) [OUTPOST_TIMEOUT_MS]',
      ].join('\n'),
    );
  });

  it('gives every command that calls the master a --timeout-ms, a rollback a longer default', () => {
    for (const flags of [STATUS_FLAGS, ROLLBACK_FLAGS, FORGET_FLAGS])
      expect(flags.find((f) => f.name === 'timeout-ms')?.env).toBe('OUTPOST_TIMEOUT_MS');
    expect(ROLLBACK_FLAGS.find((f) => f.name === 'timeout-ms')?.help).toContain('default 600000');
    expect(readFlags(['--timeout-ms', '500'], STATUS_FLAGS, {})).toEqual({ timeoutMs: '500' });
    expect(readFlags([], FORGET_FLAGS, { OUTPOST_TIMEOUT_MS: '9000' })).toEqual({ timeoutMs: '9000' });
  });
});
