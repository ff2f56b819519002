// `node --import ./src/loader/register.mjs file.ts`: runs this project's TypeScript (see hooks.mjs).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./hooks.mjs', import.meta.url);
