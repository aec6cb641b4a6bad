// The built CLI's entry: the compile cache first, so that it covers everything loaded after.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
await import('./main.js');
