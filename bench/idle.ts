import type { Scenario } from './util.js';
export const idle: Scenario = { name: 'idle', what: 'todo', async run() { return { json: {}, rows: [] }; } };
