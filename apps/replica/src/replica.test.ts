import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreInUseError } from '@outpost/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReplica } from './replica.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-replica-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** How many of this process's file descriptors are open on `path`. */
const openOn = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      // The descriptor readdir itself used is gone by now.
      return false;
    }
  }).length;

describe('buildReplica', () => {
  it.runIf(process.platform === 'linux')(
    'lets go of its access log when its store is in use by another replica',
    async () => {
      const accessLog = join(dir, 'access.log');
      const config = {
        name: 'uk-london',
        region: 'uk',
        master: 'http://127.0.0.1:1',
        data: join(dir, 'data'),
        port: 0,
        accessLog,
        logLevel: 'silent' as const,
      };
      const first = buildReplica(config);
      try {
        expect(openOn(accessLog)).toBe(1);
        expect(() => buildReplica(config)).toThrow(StoreInUseError);
        await expect.poll(() => openOn(accessLog), { timeout: 5_000 }).toBe(1);
      } finally {
        await first.stop();
      }
      expect(openOn(accessLog)).toBe(0);
    },
  );
});
