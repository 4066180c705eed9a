/**
 * The catalogue of stable error codes. Codes are part of the public interface: operators grep
 * for them and scripts match them, so a code is never renamed or reused.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'PUBSYNC_ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'PUBSYNC_ERR_CONFIG_UNREADABLE',
  CONFIG_ENV_MISSING: 'PUBSYNC_ERR_CONFIG_ENV_MISSING',
  PLUGIN_NOT_FOUND: 'PUBSYNC_ERR_PLUGIN_NOT_FOUND',
  PLUGIN_INVALID: 'PUBSYNC_ERR_PLUGIN_INVALID',
  PLUGIN_FAILED: 'PUBSYNC_ERR_PLUGIN_FAILED',
  /** A plugin module was found but threw (or a module it imports was missing) while loading. */
  PLUGIN_LOAD_FAILED: 'PUBSYNC_ERR_PLUGIN_LOAD_FAILED',
  PLUGIN_STOP_TIMEOUT: 'PUBSYNC_ERR_PLUGIN_STOP_TIMEOUT',
  FORMAT_MALFORMED: 'PUBSYNC_ERR_FORMAT_MALFORMED',
  FORMAT_INVALID: 'PUBSYNC_ERR_FORMAT_INVALID',
  FORMAT_LIMIT: 'PUBSYNC_ERR_FORMAT_LIMIT',
  CSN_INVALID: 'PUBSYNC_ERR_CSN_INVALID',
  /** A CSN further ahead of the local wall clock than the configured maximum forward skew. */
  CSN_SKEW: 'PUBSYNC_ERR_CSN_SKEW',
  STATE_IO: 'PUBSYNC_ERR_STATE_IO',
  STATE_SCHEMA: 'PUBSYNC_ERR_STATE_SCHEMA',
  ROUTE_INVALID: 'PUBSYNC_ERR_ROUTE_INVALID',
  SINK_REJECTED: 'PUBSYNC_ERR_SINK_REJECTED',
  TRANSFORM_FAILED: 'PUBSYNC_ERR_TRANSFORM_FAILED',
  /** A subscription's stylesheet does not compile (a config problem: line and column in details). */
  TRANSFORM_COMPILE_FAILED: 'PUBSYNC_ERR_TRANSFORM_COMPILE_FAILED',
  /** A stylesheet uses something the transform sandbox refuses (doc(), unparsed-text(), xsl:result-document...). */
  TRANSFORM_SANDBOX: 'PUBSYNC_ERR_TRANSFORM_SANDBOX',
  SHUTDOWN: 'PUBSYNC_ERR_SHUTDOWN',
  /** The D-Bus bus or the app's well-known name is not reachable: the host retries (the sink pauses). */
  DBUS_UNAVAILABLE: 'PUBSYNC_ERR_DBUS_UNAVAILABLE',
  /** A D-Bus method call failed for a reason other than a refused record (e.g. a malformed reply). */
  DBUS_CALL_FAILED: 'PUBSYNC_ERR_DBUS_CALL_FAILED',
  /** The XMPP stream is down (pending requests fail at once with this). */
  XMPP_DISCONNECTED: 'PUBSYNC_ERR_XMPP_DISCONNECTED',
  /** The server or a peer answered a request with a stanza error. */
  XMPP_REQUEST_FAILED: 'PUBSYNC_ERR_XMPP_REQUEST_FAILED',
  /** Refusing to send credentials over an unencrypted stream to a non-loopback server. */
  XMPP_INSECURE: 'PUBSYNC_ERR_XMPP_INSECURE',
  /** The origin refused to serve an attachment by reference (not on the whitelist, too large, gone). */
  ATTACHMENT_REFUSED: 'PUBSYNC_ERR_ATTACHMENT_REFUSED',
  /** The bytes fetched for an attachment by reference do not have the length or SHA-256 of the entry. */
  ATTACHMENT_MISMATCH: 'PUBSYNC_ERR_ATTACHMENT_MISMATCH',
  /** The origin of an attachment by reference cannot be reached now: the batch is retried. */
  ATTACHMENT_UNAVAILABLE: 'PUBSYNC_ERR_ATTACHMENT_UNAVAILABLE',
  /** An entry that alone exceeds the server's stanza size limit; it is dead-lettered, never sent. */
  TRANSPORT_TOO_LARGE: 'PUBSYNC_ERR_TRANSPORT_TOO_LARGE',
  /** A notification from the wrong service, node or publisher, or from a read-only peer. */
  TRANSPORT_UNTRUSTED: 'PUBSYNC_ERR_TRANSPORT_UNTRUSTED',
  /** Entries of an origin the control room has not shown yet: held (not applied) until its role is known. */
  ROLE_UNKNOWN: 'PUBSYNC_ERR_ROLE_UNKNOWN',
  /** The LDAP server could not be reached, refused the bind, or dropped the connection. */
  LDAP_UNAVAILABLE: 'PUBSYNC_ERR_LDAP_UNAVAILABLE',
  /** The LDAP server sent something this client cannot decode (a framing or BER error). */
  LDAP_PROTOCOL: 'PUBSYNC_ERR_LDAP_PROTOCOL',
  /** An LDAP operation failed with a result code; details carry ldapResultCode and the server's message. */
  LDAP_RESULT: 'PUBSYNC_ERR_LDAP_RESULT',
  /** The LDAP sink refused an entry (schema violation, missing parent, access): dead-lettered with the LDAP code. */
  LDAP_REJECTED: 'PUBSYNC_ERR_LDAP_REJECTED',
  /** The LDAP source's cursor is older than the oldest record left in the accesslog: a full resync follows. */
  LDAP_LOG_PURGED: 'PUBSYNC_ERR_LDAP_LOG_PURGED',
  /** CouchDB refused a document (validation function, bad id, too large): the record is dead-lettered. */
  COUCHDB_REJECTED: 'PUBSYNC_ERR_COUCHDB_REJECTED',
  /** A document kept conflicting (409) after the configured number of re-read and merge rounds. */
  COUCHDB_CONFLICT_RETRIES: 'PUBSYNC_ERR_COUCHDB_CONFLICT_RETRIES',
  /** CouchDB holds conflicting revisions of a document (_conflicts), e.g. after a replication. */
  COUCHDB_DOC_CONFLICTS: 'PUBSYNC_ERR_COUCHDB_DOC_CONFLICTS',
  /** The CouchDB server cannot be reached or answered 5xx. */
  COUCHDB_UNREACHABLE: 'PUBSYNC_ERR_COUCHDB_UNREACHABLE',
  /** CouchDB answered a request with an error that is neither a record problem nor an outage. */
  COUCHDB_REQUEST_FAILED: 'PUBSYNC_ERR_COUCHDB_REQUEST_FAILED',
  /** An attachment is larger than the source's maxAttachmentBytes: carried by reference instead. */
  COUCHDB_ATTACHMENT_BY_REFERENCE: 'PUBSYNC_ERR_COUCHDB_ATTACHMENT_BY_REFERENCE',
  /** The admin endpoint could not listen on admin.listen (address in use, not local, no permission). */
  ADMIN_LISTEN_FAILED: 'PUBSYNC_ERR_ADMIN_LISTEN_FAILED',
  /** `pubsync sync --once` could not finish: a source, the publishing or a catch-up failed, or --timeout passed. */
  SYNC_INCOMPLETE: 'PUBSYNC_ERR_SYNC_INCOMPLETE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
