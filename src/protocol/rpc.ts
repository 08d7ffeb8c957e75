// The one place comlink is imported from: two copies of comlink keep separate transfer caches and break
// `transfer()` (node-stack.md §3). Any thread.
export { wrap, expose, transfer, releaseProxy, type Remote } from 'comlink';
