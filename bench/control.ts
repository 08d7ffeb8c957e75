import type { Scenario } from './util.js';
export const control: Scenario = { name: 'control', what: 'todo', async run() { return { json: {}, rows: [] }; } };
