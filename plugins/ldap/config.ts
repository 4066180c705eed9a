import { z } from 'zod';

const url = z
  .string()
  .regex(/^ldaps?:\/\/[^/]+\/?$/, 'an ldap:// or ldaps:// URL with host and port only')
  .describe('the server, e.g. ldap://127.0.0.1:389');
const dn = z.string().min(1).refine((value) => value.includes('='), 'a DN such as cn=name,dc=example,dc=org');
const connection = {
  url,
  bindDn: dn.describe('the DN to bind as'),
  password: z.string().min(1).describe('the bind password (never logged)'),
  timeoutMs: z.number().int().positive().default(10_000).describe('connect timeout'),
};

/** Attributes whose values are bytes, not text, in the standard schemas. */
export const DEFAULT_BINARY_ATTRIBUTES = [
  'jpegPhoto',
  'photo',
  'audio',
  'userCertificate',
  'cACertificate',
  'certificateRevocationList',
  'authorityRevocationList',
  'crossCertificatePair',
  'userSMIMECertificate',
  'userPKCS12',
];

export const sourceOptions = z
  .object({
    ...connection,
    base: dn.describe('the subtree whose entries are published'),
    filter: z.string().startsWith('(').default('(objectClass=*)').describe('which entries under base are published'),
    accesslogBase: dn.default('cn=accesslog').describe('suffix of the accesslog database'),
    replicatorDn: dn
      .optional()
      .describe("the DN the LDAP sink binds as: its writes are not captured again (the role of slurpd's updatedn)"),
    initial: z
      .enum(['snapshot', 'now'])
      .default('snapshot')
      .describe('first start: publish every entry, then follow the log; or follow the log from now on'),
    capture: z
      .enum(['auto', 'sync', 'poll'])
      .default('auto')
      .describe('RFC 4533 refreshAndPersist on the log, polling it by entryCSN, or sync falling back to polling'),
    pollIntervalMs: z.number().int().min(10).default(1000).describe('polling interval of the fallback'),
    snapshotBatch: z.number().int().positive().default(200).describe('entries per batch during a snapshot'),
    tagAttributes: z.array(z.string().min(1)).default([]).describe('attributes whose values become tags (e.g. ou)'),
    binaryAttributes: z.array(z.string().min(1)).default(DEFAULT_BINARY_ATTRIBUTES).describe('published as binary fields'),
    excludeAttributes: z.array(z.string().min(1)).default([]).describe('attributes never published'),
    publishPasswords: z.boolean().default(false).describe('publish userPassword/authPassword'),
    publishSchema: z
      .boolean()
      .default(false)
      .describe('also publish the subschema subentry (type ldap-schema), e.g. to a schema node'),
  })
  .strict();

export const sinkOptions = z
  .object({
    ...connection,
    dn: z
      .object({
        rdnAttribute: z.string().min(1).describe('the attribute whose first value names the entry'),
        parentDn: dn.describe('where new entries go'),
      })
      .strict()
      .optional()
      .describe("how an entry's DN is made; without it the entry's ldap-dn key (as the transform left it) is used"),
    attributeMap: z
      .record(z.string(), z.string().min(1))
      .default({})
      .describe('field name -> attribute name, for fields not named after an attribute'),
    deleteOldRdn: z.boolean().default(true).describe('on rename, remove the old RDN value from the entry'),
    checkSchema: z
      .boolean()
      .default(false)
      .describe("refuse entries whose attribute types or object classes this server's schema lacks, before writing"),
  })
  .strict();

export type SourceOptions = z.output<typeof sourceOptions>;
export type SinkOptions = z.output<typeof sinkOptions>;
