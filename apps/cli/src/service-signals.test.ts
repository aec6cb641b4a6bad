import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ServiceSignals, type SignalledService, type SignalProcess } from './service-signals.js';

/** A process stand-in: signals are emitted by the test; exit throws, as nothing follows it. */
class FakeProcess extends EventEmitter implements SignalProcess {
  exits: number[] = [];
  exit(code: number): never {
    this.exits.push(code);
    throw new Error(`exit ${code}`);
  }
  signal(name: NodeJS.Signals): void {
    this.emit(name, name);
  }
}

/** A service whose start ends when the test says, recording what was asked of it. */
function fakeService() {
  const calls: string[] = [];
  const logs: string[] = [];
  let endStart!: () => void;
  let failStart!: (err: Error) => void;
  const service: SignalledService = {
    log: { info: (_o, m) => void logs.push(m) },
    start: () => {
      calls.push('start');
      return new Promise<void>((resolve, reject) => {
        endStart = () => {
          calls.push('started');
          resolve();
        };
        failStart = reject;
      });
    },
    stop: async () => void calls.push('stop'),
    reload: () => void calls.push('reload'),
  };
  return { service, calls, logs, endStart: () => endStart(), failStart: (e: Error) => failStart(e) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ServiceSignals', () => {
  it('takes over the SIGHUPs the entry held before its handler was set', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc, () => 1);
    const s = fakeService();
    const run = signals.run(s.service, { stopDuringStart: true });
    expect(s.logs).toEqual([
      'SIGHUP while the service was loading: nothing to reload yet (its files are read as it starts)',
    ]);
    s.endStart();
    proc.signal('SIGTERM');
    await run;
  });

  it('takes SIGHUP before the service is built, and says once it is that there was nothing to reload', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc);
    // The handler is there from the start: without one, SIGHUP's default action ends the process.
    expect(proc.listenerCount('SIGHUP')).toBe(1);
    proc.signal('SIGHUP');
    proc.signal('SIGHUP');
    expect(proc.exits).toEqual([]);
    const s = fakeService();
    const run = signals.run(s.service, { stopDuringStart: true });
    expect(s.logs).toEqual([
      'SIGHUP while the service was loading: nothing to reload yet (its files are read as it starts)',
    ]);
    expect(s.calls).toEqual(['start']);
    // Once built, a hangup reloads.
    proc.signal('SIGHUP');
    expect(s.calls).toEqual(['start', 'reload']);
    s.endStart();
    proc.signal('SIGTERM');
    await run;
    expect(s.calls).toEqual(['start', 'reload', 'started', 'stop']);
  });

  it('says stop was asked when SIGTERM or SIGINT comes before the service is built, and then never starts it', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const proc = new FakeProcess();
      const signals = new ServiceSignals(proc);
      expect(signals.stopAsked).toBe(false);
      proc.signal(signal);
      expect(signals.stopAsked).toBe(true);
      expect(proc.exits).toEqual([]);
      const s = fakeService();
      await signals.run(s.service, { stopDuringStart: true });
      expect(s.calls).toEqual([]);
      // A second signal while it winds up ends the process at once, and cleanly: nothing
      // was ever open.
      expect(() => proc.signal('SIGTERM')).toThrow('exit 0');
    }
  });

  it('takes over a SIGTERM the entry held before its handlers were set: the service is never built', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(
      proc,
      () => 0,
      () => 'SIGTERM',
    );
    expect(signals.stopAsked).toBe(true);
    const s = fakeService();
    await signals.run(s.service, { stopDuringStart: true });
    expect(s.calls).toEqual([]);
    expect(() => proc.signal('SIGINT')).toThrow('exit 0');
  });

  it('exits 0 on a second stop signal while the service is still loading', () => {
    const proc = new FakeProcess();
    new ServiceSignals(proc);
    proc.signal('SIGINT');
    expect(() => proc.signal('SIGTERM')).toThrow('exit 0');
    expect(proc.exits).toEqual([0]);
  });

  it('stops a replica only once its start is over: a SIGTERM mid-start waits for it, then stops', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc);
    const s = fakeService();
    let done = false;
    const run = signals.run(s.service, { stopDuringStart: false }).then(() => {
      done = true;
    });
    proc.signal('SIGTERM');
    await tick();
    expect(s.logs).toContain('stopping');
    expect(s.calls).toEqual(['start']);
    expect(done).toBe(false);
    s.endStart();
    await run;
    expect(s.calls).toEqual(['start', 'started', 'stop']);
  });

  it('stops a master at once, mid-start: its stop winds the start down', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc);
    const s = fakeService();
    const run = signals.run(s.service, { stopDuringStart: true });
    proc.signal('SIGINT');
    await tick();
    expect(s.calls).toEqual(['start', 'stop']);
    s.endStart();
    await run;
  });

  it('rejects with the start failure (a port in use), and a stop asked meanwhile still stops', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc);
    const s = fakeService();
    const run = signals.run(s.service, { stopDuringStart: false });
    proc.signal('SIGTERM');
    s.failStart(new Error('EADDRINUSE'));
    await expect(run).rejects.toThrow('EADDRINUSE');
    await tick();
    expect(s.calls).toEqual(['start', 'stop']);
  });

  it('exits at once (130) on a second stop signal', async () => {
    const proc = new FakeProcess();
    const signals = new ServiceSignals(proc);
    const s = fakeService();
    void signals.run(s.service, { stopDuringStart: false });
    proc.signal('SIGTERM');
    expect(() => proc.signal('SIGINT')).toThrow('exit 130');
    expect(proc.exits).toEqual([130]);
  });
});
