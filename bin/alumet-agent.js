#!/usr/bin/env node
// Installed entry point: the compiled CLI lives in dist/ (run `npm run build` first in a checkout).
import '../dist/src/main.js';
