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
  SHUTDOWN: 'PUBSYNC_ERR_SHUTDOWN',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
