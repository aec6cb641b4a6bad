// undici, in a module of its own: the CLI imports it only for the commands that call a
// master (status, versions, rollback, forget), so a service's start does not evaluate it
// (60–70 ms of a master's start here). An ES module of ours, as esbuild's split chunk of
// a CommonJS package imported on demand would hold only its default export.
export { request } from 'undici';
