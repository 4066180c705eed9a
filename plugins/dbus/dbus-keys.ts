/** The source key scheme of a D-Bus object: its id as the app's methods take it. */
export const KEY_SCHEME = 'dbus-id';

/** What the sink records in the echo scope for a delete it made (a content hash never looks like this). */
export const ECHO_DELETED = '-';

/** The bus for messages: an address may carry a path or a guid, which are nobody's business in a log. */
export function busLabel(bus: string): string {
  return bus === 'session' || bus === 'system' ? bus : (bus.split(':')[0] ?? 'unknown') + ' address';
}
