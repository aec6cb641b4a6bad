export * from './chunker.js';
export * from './diff.js';
export * from './entry.js';
export * from './fastcdc.js';
export * from './hash.js';
export * from './live-tree.js';
export * from './merkle.js';
export * from './paths.js';
