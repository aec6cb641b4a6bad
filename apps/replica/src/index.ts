export { buildReplica, type Replica } from './replica.js';
