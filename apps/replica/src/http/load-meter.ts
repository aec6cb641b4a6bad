import type { Server } from 'node:http';
import type { Load } from '@outpost/protocol';

/** Counts requests and open connections, for the load a replica reports with its heartbeats. */
export class LoadMeter {
  #requests = 0;
  #total = 0;
  #open = 0;
  #windowStart = Date.now();

  /** Starts counting connections on a server. */
  attach(server: Server): void {
    server.on('connection', (socket) => {
      this.#open++;
      socket.once('close', () => this.#open--);
    });
  }

  /** Notes one request. */
  request(): void {
    this.#requests++;
    this.#total++;
  }

  /** Requests since the start (for metrics). */
  get total(): number {
    return this.#total;
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /** Requests per second since the last reading, and connections open now. */
  read(now = Date.now()): Load {
    const seconds = Math.max(0.001, (now - this.#windowStart) / 1000);
    const load = {
      requestsPerSecond: Math.round((this.#requests / seconds) * 100) / 100,
      openConnections: this.#open,
    };
    this.#requests = 0;
    this.#windowStart = now;
    return load;
  }
}
