import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './helpers/fleet.js';
import { get, getJson } from './helpers/http.js';

describe('a master and two replicas', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await Fleet.start({
      files: {
        'README.md': '# Welcome\n',
        'empty.txt': '',
        'policies/travel.md': 'Book economy.\n',
        'policies/2026/security.md': 'Lock your screen.\n',
        'deep/a/b/c/d/e/leaf.json': '{"deep":true}\n',
        'big.bin': Buffer.alloc(300 * 1024 + 7, 0xab),
      },
      replicas: [
        { name: 'uk-london', region: 'uk' },
        { name: 'asia-tokyo', region: 'asia' },
      ],
    });
  });
  afterAll(() => fleet?.stop());

  it('syncs the initial tree, nested folders and an empty file included, to both replicas', async () => {
    const v = await fleet.expectConverged();
    expect(v.entries.map((e) => e.path).sort()).toEqual([
      'README.md',
      'big.bin',
      'deep/a/b/c/d/e/leaf.json',
      'empty.txt',
      'policies/2026/security.md',
      'policies/travel.md',
    ]);
    const empty = await get(`${fleet.replica('uk-london').url}/empty.txt`);
    expect(empty.status).toBe(200);
    expect(empty.body.length).toBe(0);
    const status = await fleet.masterStatus();
    expect(status.replicas.map((r: any) => [r.name, r.state, r.connected])).toEqual([
      ['asia-tokyo', 'in-sync', true],
      ['uk-london', 'in-sync', true],
    ]);
  });

  it('carries a create, a modify, a delete and a rename to both replicas', async () => {
    const before = await fleet.masterCaughtUp();
    fleet.write('news/today.md', 'Fresh news\n');
    fleet.write('policies/travel.md', 'Book economy, always.\n');
    fleet.remove('README.md');
    fleet.rename('policies/2026/security.md', 'policies/security.md');
    const v = await fleet.expectConverged(undefined, ['README.md', 'policies/2026/security.md']);
    expect(v.version).toBeGreaterThan(before.version);
    const travel = await get(`${fleet.replica('asia-tokyo').url}/policies/travel.md`);
    expect(travel.body.toString()).toBe('Book economy, always.\n');
  });

  it('moves a whole directory and removes another', async () => {
    fleet.rename('deep/a', 'shallow');
    fleet.remove('policies');
    await fleet.expectConverged(undefined, ['deep/a/b/c/d/e/leaf.json', 'policies/travel.md']);
    const moved = await get(`${fleet.replica('uk-london').url}/shallow/b/c/d/e/leaf.json`);
    expect(moved.body.toString()).toBe('{"deep":true}\n');
  });

  it('turns a burst of 200 writes into a few versions, not 200', async () => {
    const before = (await fleet.masterCaughtUp()).version;
    for (let i = 0; i < 200; i++) fleet.write(`burst/file-${String(i).padStart(3, '0')}.txt`, `burst ${i}\n`);
    const v = await fleet.expectConverged();
    const made = v.version - before;
    expect(made).toBeGreaterThanOrEqual(1);
    expect(made).toBeLessThanOrEqual(5);
    expect(v.entries.filter((e) => e.path.startsWith('burst/'))).toHaveLength(200);
  });

  it('records every version with numbers that only grow', async () => {
    const versions = await getJson(`${fleet.master.url}/_outpost/api/v1/versions`);
    const numbers = versions.map((v: any) => v.version);
    expect(numbers).toEqual([...numbers].sort((a: number, b: number) => b - a));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(versions[0].files).toBe(fleet.diskTree().size);
  });

  it('serves conditional requests and ranges per the contract', async () => {
    const url = `${fleet.replica('uk-london').url}/big.bin`;
    const full = await get(url);
    const etag = String(full.headers.etag);
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.headers['last-modified']).toBeTruthy();
    expect((await get(url, { 'if-none-match': etag })).status).toBe(304);
    expect((await get(url, { 'if-modified-since': String(full.headers['last-modified']) })).status).toBe(304);
    const part = await get(url, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${full.body.length}`);
    expect(part.body.equals(full.body.subarray(100, 200))).toBe(true);
    const tail = await get(url, { range: 'bytes=-10' });
    expect(tail.body.equals(full.body.subarray(-10))).toBe(true);
    const none = await get(url, { range: `bytes=${full.body.length}-` });
    expect(none.status).toBe(416);
    expect(none.headers['content-range']).toBe(`bytes */${full.body.length}`);
    const head = await get(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(full.body.length));
    expect((await get(`${fleet.replica('uk-london').url}/nope.txt`)).status).toBe(404);
    expect((await get(url, {}, 'DELETE')).status).toBe(405);
  });
});
