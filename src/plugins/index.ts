// Every plugin this agent can run, in the order `plugins list` and generated configs show them. Adding a
// plugin is one folder and one line here; nothing registers itself.

import type { AnyPlugin } from '../agent/plugin-api.js';
import procfs from './procfs/index.js';
import cgroups from './cgroups/index.js';
import csv from './csv/index.js';
import socketControl from './socket-control/index.js';
import synthetic from './synthetic/index.js';
import filter from './filter/index.js';
import energyEstimationTdp from './energy-estimation-tdp/index.js';
import energyAttribution from './energy-attribution/index.js';
import prometheusExporter from './prometheus-exporter/index.js';
import prometheusRemoteWrite from './prometheus-remote-write/index.js';
import influxdb from './influxdb/index.js';
import openTelemetry from './opentelemetry/index.js';
import rapl from './rapl/index.js';
import energyToCarbon from './energy-to-carbon/index.js';
import aggregation from './aggregation/index.js';
import relayClient from './relay-client/index.js';
import relayServer from './relay-server/index.js';

export const PLUGINS: readonly AnyPlugin[] = [
  procfs,
  cgroups,
  csv,
  socketControl,
  synthetic,
  filter,
  energyEstimationTdp,
  energyAttribution,
  prometheusExporter,
  prometheusRemoteWrite,
  influxdb,
  openTelemetry,
  rapl,
  energyToCarbon,
  aggregation,
  relayClient,
  relayServer,
];
