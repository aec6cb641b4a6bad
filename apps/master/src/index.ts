export { buildMaster, type Master } from './master.js';
export type { PublishedVersion } from './publish/publisher.js';
