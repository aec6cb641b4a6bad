/** The routes a service has, as fastify declared them: methods and a path pattern (`/a/:b`, `/c/*`). */
export type RouteTable = { methods: string[]; url: string }[];

/** True when a request path (no query) fits a fastify path pattern. */
export function fitsPattern(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('/');
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w === '*') return true;
    const g = got[i];
    if (g === undefined) return false;
    if (w.startsWith(':')) {
      if (g === '') return false;
    } else if (w !== g) return false;
  }
  return want.length === got.length;
}

/** The methods some route answers at this request target, sorted; empty when no route has the path. */
export function allowedMethods(routes: RouteTable, target: string): string[] {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const out = new Set<string>();
  for (const r of routes) if (fitsPattern(r.url, path)) for (const m of r.methods) out.add(m);
  return [...out].sort();
}
