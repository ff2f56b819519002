import { fileURLToPath } from 'node:url';

/** The loader's registration module (see hooks.mjs): absolute, so any working directory will do. */
export const TS_LOADER = fileURLToPath(new URL('./register.mjs', import.meta.url));
/** The loader's hooks, for a worker thread to register itself. */
export const TS_HOOKS_URL = new URL('./hooks.mjs', import.meta.url).href;
/** Node's arguments that run a TypeScript file of this project: `[...TS_NODE_ARGS, 'file.ts', ...]`. */
export const TS_NODE_ARGS: readonly string[] = ['--import', TS_LOADER];
