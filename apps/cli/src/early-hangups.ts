// Shared by the entry and the command: the entry holds SIGHUP, SIGTERM and SIGINT while it loads
// the CLI's code (tens of milliseconds built), and the command takes over what came meanwhile.

let hangups = 0;
let holdingHangups = false;
let stop: NodeJS.Signals | null = null;
let holdingStops = false;
const note = () => {
  hangups++;
};
const noteStop = (signal: NodeJS.Signals) => {
  stop ??= signal;
};

/**
 * From the entry's first line: a SIGHUP before a command has its own handler is counted, not
 * fatal; a SIGTERM or SIGINT is kept for the command, which ends with 0 before it builds a
 * service (README), where the signal's default action had ended it with 143.
 */
export function holdEarlyHangups(): void {
  if (!holdingHangups) process.on('SIGHUP', note);
  if (!holdingStops) {
    process.on('SIGTERM', noteStop);
    process.on('SIGINT', noteStop);
  }
  holdingHangups = true;
  holdingStops = true;
}

/**
 * Stops holding SIGHUP and says how many came while it was held. A service calls it once its
 * own handler is set, so that no moment is left without one.
 */
export function releaseEarlyHangups(): number {
  if (holdingHangups) process.off('SIGHUP', note);
  holdingHangups = false;
  const count = hangups;
  hangups = 0;
  return count;
}

/**
 * Stops holding SIGTERM and SIGINT and says which came first while they were held, or null:
 * called once the command's own handlers are set, or, by a command that sets none, before it
 * gives them back their default action.
 */
export function releaseEarlyStop(): NodeJS.Signals | null {
  if (holdingStops) {
    process.off('SIGTERM', noteStop);
    process.off('SIGINT', noteStop);
  }
  holdingStops = false;
  const first = stop;
  stop = null;
  return first;
}
