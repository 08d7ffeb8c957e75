// Bench element (transform, worker thread): forwards every batch unchanged, so the throughput scenario
// measures the cost of the hop itself.

import { defineTransform } from '../../src/protocol/element.js';

export default defineTransform<Record<string, never>>(() => ({
  apply: (batch) => batch,
}));
