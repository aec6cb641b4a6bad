import { describe, expect, it } from 'vitest';
import { compileCacheDir } from './compile-cache.js';

describe('compileCacheDir', () => {
  const home = () => '/home/ops';
  it("is in the user's cache directory", () => {
    expect(compileCacheDir({}, home)).toBe('/home/ops/.cache/outpost/node-compile-cache');
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/ops' }, home)).toBe(
      '/var/cache/ops/outpost/node-compile-cache',
    );
  });

  it("is Node's to choose when NODE_COMPILE_CACHE says where, and none when it is turned off", () => {
    expect(compileCacheDir({ NODE_COMPILE_CACHE: '/tmp/cc' }, home)).toBeNull();
    expect(compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: '1' }, home)).toBeNull();
    expect(compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: '0' }, home)).toBeNull();
  });

  it('is none for a relative cache directory or a user with no home', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: 'cache' }, home)).toBeNull();
    const noHome = () => {
      throw Object.assign(new Error('uv_os_homedir returned ENOENT'), { code: 'ERR_SYSTEM_ERROR' });
    };
    expect(compileCacheDir({}, noHome)).toBeNull();
  });
});
