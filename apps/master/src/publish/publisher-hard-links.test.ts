import { linkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import { describe, expect, it, vi } from 'vitest';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const f = publisherFixture('outpost-hard-links-');

const hashOf = (path: string) => f.store.versions.liveTree().get(path)?.hash;

describe('a file with several names (hard links)', () => {
  it('edited through one name is published under every name, not at the next rewalk, also after a restart', async () => {
    writeFileSync(join(f.content, 'a.txt'), 'one\n');
    linkSync(join(f.content, 'a.txt'), join(f.content, 'b.txt'));
    writeFileSync(join(f.content, 'other.txt'), 'other\n');
    const first = await f.reconciled();
    expect(hashOf('b.txt')).toBe(sha256Hex('one\n'));

    // Written in place through b.txt: the kernel reports b.txt only.
    writeFileSync(join(f.content, 'b.txt'), 'two\n');
    await first.p.submit(['b.txt']);
    expect(hashOf('b.txt')).toBe(sha256Hex('two\n'));
    await vi.waitUntil(() => hashOf('a.txt') === sha256Hex('two\n'), { timeout: 5000, interval: 10 });
    await first.p.close();

    // A restart learns the names from its walk, reading nothing.
    const second = await f.reconciled();
    writeFileSync(join(f.content, 'a.txt'), 'three\n');
    await second.p.submit(['a.txt']);
    await vi.waitUntil(() => hashOf('b.txt') === sha256Hex('three\n'), { timeout: 5000, interval: 10 });
    expect(readFileSync(join(f.content, 'b.txt'), 'utf8')).toBe('three\n');
    expect(hashOf('other.txt')).toBe(sha256Hex('other\n'));
    await second.p.close();
  });
});
