import { startSlapd, type SlapdInstance } from '../../harness/slapd.js';

/** Options for the LDAP plugins against a harness slapd, bound as its service identities. */
export function sourceOptionsFor(slapd: SlapdInstance, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    url: slapd.url,
    bindDn: slapd.syncreader.dn,
    password: slapd.syncreader.password,
    base: slapd.suffix,
    replicatorDn: slapd.replicator.dn,
    ...extra,
  };
}

export function sinkOptionsFor(slapd: SlapdInstance, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { url: slapd.url, bindDn: slapd.replicator.dn, password: slapd.replicator.password, ...extra };
}

export const PEOPLE = 'ou=people,dc=example,dc=org';

export { startSlapd, type SlapdInstance };

/** Parses ldapsearch -LLL output (unwrapped) into attribute -> values, for one entry. */
export function parseLdif(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const match = /^([^:\s]+)(::?) ?(.*)$/.exec(line);
    if (!match) continue;
    const [, name = '', colons, value = ''] = match;
    const decoded = colons === '::' ? Buffer.from(value, 'base64').toString('utf8') : value;
    (out[name] ??= []).push(decoded);
  }
  return out;
}
