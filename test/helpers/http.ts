import { request } from 'undici';

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET (or other method) with undici, the body read whole. */
export async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  const res = await request(url, { method: method as 'GET', headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** GET and parse JSON. */
export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await get(url, headers);
  return JSON.parse(res.body.toString('utf8')) as T;
}
