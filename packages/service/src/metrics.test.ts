import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, oneHot, scrapedCounter, scrapedGauge } from './metrics.js';

describe('metrics', () => {
  it('reads scraped gauges and counters afresh at each scrape, with the default labels', async () => {
    const registry = createMetricsRegistry({ service: 'test' });
    let served = 3;
    let states: [Record<string, string>, number][] = [[{ replica: 'a' }, 1]];
    scrapedCounter(registry, 'x_requests_total', 'requests', () => served);
    scrapedGauge(registry, 'x_state', 'state', () => states, ['replica']);
    let text = await registry.metrics();
    expect(text).toContain('x_requests_total{service="test"} 3');
    expect(text).toContain('x_state{replica="a",service="test"} 1');
    expect(text).toMatch(/^process_cpu_seconds_total\{service="test"\} /m);
    served = 5;
    // A replica no longer known leaves no stale series behind.
    states = [[{ replica: 'b' }, 0]];
    text = await registry.metrics();
    expect(text).toContain('x_requests_total{service="test"} 5');
    expect(text).not.toContain('replica="a"');
    expect(text).toContain('x_state{replica="b",service="test"} 0');
  });

  it('gives a state-set: 1 for the current value, 0 for the others', () => {
    expect(oneHot(['up', 'down'] as const, 'down', 'state', { replica: 'a' })).toEqual([
      [{ replica: 'a', state: 'up' }, 0],
      [{ replica: 'a', state: 'down' }, 1],
    ]);
    expect(oneHot(['up', 'down'] as const, null, 'state').map(([, v]) => v)).toEqual([0, 0]);
  });

  it('keeps two services in one process apart', async () => {
    const a = createMetricsRegistry({ service: 'a' });
    const b = createMetricsRegistry({ service: 'b' });
    scrapedGauge(a, 'only_in_a', 'a', () => 1);
    expect(await b.metrics()).not.toContain('only_in_a');
  });
});
