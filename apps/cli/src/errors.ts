/** A command given wrong: said in one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A master answered 2xx with a body of the wrong shape (another server, another version of
 * Outpost, a proxy's page): the user's flags are not to blame, so it is not said as they are.
 */
export class UnexpectedAnswerError extends Error {
  override name = 'UnexpectedAnswerError';
}
