// The built CLI's entry: SIGHUP held first (systemd counts a death by it as a clean exit, and a
// service must survive a reload however early it comes), then the compile cache, so that it
// covers everything loaded after.
import { enableCompileCache } from './compile-cache.js';
import { holdEarlyHangups } from './early-hangups.js';

holdEarlyHangups();
enableCompileCache();
await import('./main.js');
