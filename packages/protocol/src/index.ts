export * from './advertise.js';
export * from './chunk-frames.js';
export * from './config.js';
export * from './limits.js';
export * from './manifest.js';
export * from './messages.js';
export * from './rest.js';
export * from './scalars.js';
