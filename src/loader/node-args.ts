import { fileURLToPath } from 'node:url';

/** The loader's registration module (see hooks.mjs), as a URL: what a worker thread imports first. */
export const TS_LOADER_URL = new URL('./register.mjs', import.meta.url).href;
/** The same as a path: absolute, so any working directory will do. */
export const TS_LOADER = fileURLToPath(TS_LOADER_URL);
/** Node's arguments that run a TypeScript file of this project: `[...TS_NODE_ARGS, 'file.ts', ...]`. */
export const TS_NODE_ARGS: readonly string[] = ['--import', TS_LOADER];
