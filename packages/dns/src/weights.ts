import type { Load } from '@outpost/protocol';

/**
 * How busy a replica says it is, as one number: requests per second plus open connections
 * (an idle keep-alive reader still holds a connection; a burst of short ones shows as requests).
 */
export function loadScore(load: Load | null): number {
  if (!load) return 0;
  return Math.max(0, load.requestsPerSecond) + Math.max(0, load.openConnections);
}

/** Scores this close to zero are noise: they smooth the weights of an idle fleet. */
export const LOAD_SMOOTHING = 20;
const MIN_WEIGHT = 0.05;
const MAX_WEIGHT = 20;

/**
 * Weights from load, relative to the others: (mean + c) / (score + c). Equal load gives equal
 * weight (and an equal share of answers); a replica with three times the load of its peers
 * gets about a third of their weight, so it is handed fewer new readers until it evens out.
 * The smoothing constant keeps an idle fleet (a few requests here and there) even.
 */
export function weightsFromLoad(scores: number[]): number[] {
  if (scores.length === 0) return [];
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  return scores.map((s) =>
    Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, (mean + LOAD_SMOOTHING) / (s + LOAD_SMOOTHING))),
  );
}
