import { describe, expect, it } from 'vitest';
import { allowedMethods, fitsPattern } from './route-table.js';

describe('route table', () => {
  it('fits parameters and wildcards, segment by segment', () => {
    expect(fitsPattern('/api/versions/:n', '/api/versions/3')).toBe(true);
    expect(fitsPattern('/api/versions/:n', '/api/versions/')).toBe(false);
    expect(fitsPattern('/api/versions/:n', '/api/versions/3/x')).toBe(false);
    expect(fitsPattern('/api/status', '/api/statuses')).toBe(false);
    expect(fitsPattern('/static/*', '/static/a/b.css')).toBe(true);
  });

  it('lists the methods of every route at the path, ignoring the query', () => {
    const routes = [
      { methods: ['GET', 'HEAD'], url: '/api/versions/:n' },
      { methods: ['POST'], url: '/api/rollback' },
      { methods: ['DELETE'], url: '/api/replicas/:name' },
      { methods: ['GET', 'HEAD'], url: '/api/replicas/:name' },
    ];
    expect(allowedMethods(routes, '/api/replicas/uk?x=1')).toEqual(['DELETE', 'GET', 'HEAD']);
    expect(allowedMethods(routes, '/api/rollback')).toEqual(['POST']);
    expect(allowedMethods(routes, '/api/nothing')).toEqual([]);
  });
});
