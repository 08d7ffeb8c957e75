#!/usr/bin/env -S node --max-semi-space-size=4
// Installed entry point: the compiled CLI lives in dist/ (run `npm run build` first in a checkout).
// The main thread only runs the control plane: a 4 MiB semi-space keeps V8 from growing its nursery to
// 48 MiB over the first minutes of a long run (seen as a one-time RSS step in soak runs).
import '../dist/src/main.js';
