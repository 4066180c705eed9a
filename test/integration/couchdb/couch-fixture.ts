import Nano from 'nano';

/**
 * Direct access to a test database with nano, the way another application writes to CouchDB:
 * the tests change the real database through it and read back what the plugin wrote.
 */
export interface TestDatabase {
  readonly db: Nano.DocumentScope<Record<string, unknown>>;
  /** Creates or replaces a document (reads the current _rev first). */
  put(id: string, body: Record<string, unknown>): Promise<string>;
  remove(id: string): Promise<void>;
  get(id: string): Promise<(Record<string, unknown> & { _id: string; _rev: string }) | undefined>;
  /** Installs a validate_doc_update that forbids documents of type "forbidden". */
  forbidType(type: string): Promise<void>;
}

export function testDatabase(url: string, name: string): TestDatabase {
  const nano = Nano({ url, headers: { 'Accept-Encoding': 'identity' } });
  const db = nano.use<Record<string, unknown>>(name);
  const get: TestDatabase['get'] = async (id) => {
    try {
      return (await db.get(id)) as Record<string, unknown> & { _id: string; _rev: string };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  };
  return {
    db,
    get,
    async put(id, body) {
      const current = await get(id);
      const result = await db.insert({ ...body, _id: id, ...(current ? { _rev: current._rev } : {}) });
      return result.rev;
    },
    async remove(id) {
      const current = await get(id);
      if (current) await db.destroy(id, current._rev);
    },
    async forbidType(type) {
      const validate = `function (newDoc) { if (newDoc.type === ${JSON.stringify(type)}) { throw({ forbidden: 'documents of type ${type} are not allowed here' }); } }`;
      await db.insert({ _id: '_design/validation', validate_doc_update: validate });
    },
  };
}
