import { releaseEarlyHangups, releaseEarlyStop } from './early-hangups.js';

/** What of `process` the signal handling uses (a stand-in in tests). */
export interface SignalProcess {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
}

/** A built service, as the signals drive it. */
export interface SignalledService {
  log: { info: (o: object, m: string) => void };
  start(): Promise<unknown>;
  stop(): Promise<void>;
  /** SIGHUP: read the TLS files again, open the access log again. */
  reload(): void;
}

/**
 * The signals of `outpost master|replica`, taken as the command begins, before the service's
 * code is loaded (0.2–0.4 s of a start; seconds through tsx). Until a process has a handler
 * for it, SIGHUP's default action ends it, and systemd counts a death by SIGHUP as a clean
 * exit: Restart=on-failure left a service down when a `systemctl reload` (logrotate's) came
 * in that moment, where the README promises that SIGHUP never ends a service.
 *
 * - SIGHUP before the service is built is noted, and said once it is: there is nothing to
 *   reload yet, for the service reads its certificate and opens its access log as it is built,
 *   after the signal. From then on it reloads.
 * - SIGINT or SIGTERM before the service is built (the entry's first line on, in the built
 *   CLI): `stopAsked`, and the command ends with 0 without building it (nothing is open yet). Once built, it stops cleanly (SIGTERM drains).
 * - A second SIGINT or SIGTERM exits at once: 130 once the service is built, and 0 before,
 *   when nothing is open yet. A Ctrl-C under `pnpm start` while the services load reached a
 *   service twice (the terminal's SIGINT, then the demo's SIGTERM half a second later, with the
 *   service still loading and no 'stopping' said), and the demo took its 130 for a failed stop.
 */
export class ServiceSignals {
  #service: SignalledService | null = null;
  #hangups = 0;
  #stopSignal: NodeJS.Signals | null = null;
  #onStop: ((signal: NodeJS.Signals) => void) | null = null;

  /**
   * `earlyHangups` hands over the SIGHUPs the entry held before this handler was set, and
   * `earlyStop` the SIGTERM or SIGINT it held: a stop asked before the service is built.
   */
  constructor(
    proc: SignalProcess = process,
    earlyHangups: () => number = releaseEarlyHangups,
    earlyStop: () => NodeJS.Signals | null = releaseEarlyStop,
  ) {
    proc.on('SIGHUP', () => {
      if (this.#service) this.#service.reload();
      else this.#hangups++;
    });
    this.#hangups += earlyHangups();
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.#stopSignal !== null) proc.exit(this.#service ? 130 : 0);
      this.#stopSignal = signal;
      this.#onStop?.(signal);
    };
    proc.on('SIGINT', onSignal);
    proc.on('SIGTERM', onSignal);
    this.#stopSignal = earlyStop();
  }

  /** True once SIGINT or SIGTERM has come: a service not built yet should not be. */
  get stopAsked(): boolean {
    return this.#stopSignal !== null;
  }

  /**
   * Starts the service and resolves once a signal has stopped it; rejects when its start
   * fails. With `stopDuringStart` a stop signal stops it at once, start or no start (the
   * master's stop winds a start down); without, the stop waits for the start to end first (a
   * replica stopped mid-start would close the store under the rest of its start).
   */
  async run(service: SignalledService, opts: { stopDuringStart: boolean }): Promise<void> {
    if (this.#stopSignal !== null) return;
    this.#service = service;
    if (this.#hangups > 0)
      service.log.info(
        { signal: 'SIGHUP', count: this.#hangups },
        'SIGHUP while the service was loading: nothing to reload yet (its files are read as it starts)',
      );
    const started = service.start();
    const stopped = new Promise<void>((resolve) => {
      this.#onStop = (signal) => {
        service.log.info({ signal }, 'stopping');
        const ready = opts.stopDuringStart ? Promise.resolve() : started.then(noop, noop);
        ready
          .then(() => service.stop())
          .then(resolve, (err: unknown) => {
            process.stderr.write(`outpost: error while stopping: ${(err as Error).message}\n`);
            resolve();
          });
      };
    });
    await started;
    await stopped;
  }
}

function noop(): void {}
