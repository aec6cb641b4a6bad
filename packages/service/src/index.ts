export * from './auth.js';
export * from './bearer.js';
export * from './client-error.js';
export * from './fastify-options.js';
export * from './lean-heap.js';
export * from './logger.js';
export * from './problem.js';
export * from './release-memory.js';
