#!/usr/bin/env -S node --max-semi-space-size=4
// Installed entry point: the compiled CLI lives in dist/ (run `npm run build` first in a checkout).
// A 4 MiB semi-space (every thread; pool threads set their own limit) keeps V8 from growing the main
// thread's nursery to 48 MiB over the first minutes of a long run (a one-time RSS step in soak runs).
import '../dist/src/main.js';
