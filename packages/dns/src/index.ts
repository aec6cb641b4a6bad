export * from './describe.js';
export * from './eligibility.js';
export * from './responder.js';
export * from './rotation.js';
export * from './weights.js';
export * from './zone-view.js';
