import type { ChangeField } from '../../src/plugin-api/index.js';
import type { DbusOptions } from './config.js';
import { DbusCallError, type DbusConnection } from './dbus-client.js';
import type { DbusVariant } from './dbus-variant.js';
import { fieldsFromDict } from './mapping.js';

/** The app's configured List/Get/Put/Delete methods over one connection. */
export class AppMethods {
  readonly #connection: DbusConnection;
  readonly #options: DbusOptions;

  constructor(connection: DbusConnection, options: DbusOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  async list(): Promise<string[]> {
    const [ids] = await this.#call(this.#options.methods.list, '', []);
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      throw new DbusCallError('org.freedesktop.DBus.Error.InvalidSignature', `${this.#options.methods.list} did not return as`);
    }
    return ids;
  }

  /** The object's fields, or undefined when the app says it has no such object. */
  async get(id: string): Promise<ChangeField[] | undefined> {
    try {
      const [dict] = await this.#call(this.#options.methods.get, 's', [id]);
      return fieldsFromDict(dict);
    } catch (error) {
      if (this.#isNotFound(error)) return undefined;
      throw error;
    }
  }

  async put(id: string, fields: Readonly<Record<string, DbusVariant>>): Promise<void> {
    await this.#call(this.#options.methods.put, 'sa{sv}', [id, fields]);
  }

  /** False when the app had no such object. */
  async delete(id: string): Promise<boolean> {
    try {
      await this.#call(this.#options.methods.delete, 's', [id]);
      return true;
    } catch (error) {
      if (this.#isNotFound(error)) return false;
      throw error;
    }
  }

  #isNotFound(error: unknown): boolean {
    return error instanceof DbusCallError && this.#options.notFoundErrors.includes(error.errorName);
  }

  #call(member: string, signature: string, body: readonly unknown[]): Promise<readonly unknown[]> {
    const { service, objectPath, interface: iface, callTimeoutMs } = this.#options;
    return this.#connection.call({
      destination: service,
      path: objectPath,
      interface: iface,
      member,
      signature,
      body,
      timeoutMs: callTimeoutMs,
    });
  }
}
