export * from './chunk-store.js';
export * from './encoding-store.js';
export * from './migrate.js';
export * from './replica-registry.js';
export * from './scan-index.js';
export * from './store.js';
export * from './verify-store.js';
export * from './version-store.js';
