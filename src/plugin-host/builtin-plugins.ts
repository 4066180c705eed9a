import { plugins as couchdb } from '../../plugins/couchdb/index.js';
import { plugins as dbus } from '../../plugins/dbus/index.js';
import { plugins as ldap } from '../../plugins/ldap/index.js';
import type { AnyPluginDefinition } from './plugin-registry.js';

/**
 * The plugins shipped with pubsync, listed statically: no folder scan, no registration by side
 * effect, so what is built in can be read here. An adapter under plugins/<system>/ exports
 * `plugins`; adding it is its import plus its name in the list:
 *
 *   import { plugins as ldap } from '../../plugins/ldap/index.js';
 *   export const builtinPlugins: readonly AnyPluginDefinition[] = [...ldap];
 *
 * Built-ins go through the same checks as third-party plugins when they are registered.
 */
export const builtinPlugins: readonly AnyPluginDefinition[] = [...couchdb, ...dbus, ...ldap];
