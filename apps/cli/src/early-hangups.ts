// Shared by the entry and the command: the entry holds SIGHUP while it loads the CLI's code
// (tens of milliseconds built), and the command takes over what came meanwhile.

let held = 0;
let holding = false;
const note = () => {
  held++;
};

/** From the entry's first line: a SIGHUP before a command has its own handler is counted, not fatal. */
export function holdEarlyHangups(): void {
  if (holding) return;
  holding = true;
  process.on('SIGHUP', note);
}

/**
 * Stops holding SIGHUP and says how many came while it was held. A service calls it once its
 * own handler is set, so that no moment is left without one.
 */
export function releaseEarlyHangups(): number {
  if (holding) process.off('SIGHUP', note);
  holding = false;
  const count = held;
  held = 0;
  return count;
}
