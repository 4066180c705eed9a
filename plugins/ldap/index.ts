/**
 * The LDAP adapter: a source capturing OpenLDAP's accesslog through RFC 4533 refreshAndPersist,
 * and a sink applying minimal modifies as a replicator DN.
 *
 *   sources: [{ name: people, plugin: ldap, options: { url, bindDn, password, base, replicatorDn } }]
 *   sinks:   [{ name: people, plugin: ldap, options: { url, bindDn: <replicatorDn>, password } }]
 */
import { definePlugin } from '../../src/plugin-api/index.js';
import { sinkOptions, sourceOptions } from './config.js';
import { LdapSink } from './ldap-sink.js';
import { LdapSource } from './ldap-source.js';

export const ldapSource = definePlugin({
  kind: 'source',
  name: 'ldap',
  summary: "Captures an OpenLDAP subtree's changes from its accesslog (RFC 4533 refreshAndPersist)",
  configSchema: sourceOptions,
  create: (options, context) => new LdapSource(options, context),
});

export const ldapSink = definePlugin({
  kind: 'sink',
  name: 'ldap',
  summary: 'Applies entries to an LDAP directory with minimal modifies, bound as a replicator DN',
  configSchema: sinkOptions,
  create: (options, context) => new LdapSink(options, context),
});

export const plugins = [ldapSource, ldapSink] as const;
