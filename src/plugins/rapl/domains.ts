// RAPL domains: which powercap zone measures what, and what its points are about. Pure data; the definition
// (main thread) sorts zones into domains, the source (worker thread) orders its `<domain>_total` points.

import { LOCAL_MACHINE, type ResourceRef } from '../../protocol/element-api.js';

/** Alumet's domains, in the order of its RaplDomainType enum, which is the order of the total points. */
export const DOMAINS = ['package', 'pp0', 'pp1', 'dram', 'platform'] as const;
export type Domain = (typeof DOMAINS)[number];

/** The socket of a `package-N` zone, undefined for other names; throws on a package name without a number. */
export function socketOfZone(name: string): number | undefined {
  if (!name.startsWith('package-')) return undefined;
  const id = name.slice('package-'.length);
  if (!/^\d+$/.test(id)) throw new Error(`zone name "${name}" has no package number after "package-"`);
  return Number(id);
}

/** The domain a zone measures, from the name the kernel gives it; undefined for a name RAPL does not use. */
export function domainOfZone(name: string): Domain | undefined {
  if (name.startsWith('package-')) return 'package';
  switch (name) {
    case 'core':
      return 'pp0';
    case 'uncore':
      return 'pp1';
    case 'dram':
      return 'dram';
    case 'psys':
      return 'platform';
    default:
      return undefined;
  }
}

/** pp0 and pp1 cover every core (or the uncore) of a package, not one core: their resource is the package. */
export function resourceOf(domain: Domain, socket: number): ResourceRef {
  switch (domain) {
    case 'dram':
      return { kind: 'dram', id: String(socket) };
    case 'platform':
      return LOCAL_MACHINE;
    default:
      return { kind: 'cpu_package', id: String(socket) };
  }
}
