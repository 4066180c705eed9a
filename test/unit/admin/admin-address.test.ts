import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { adminAddressFile, readAdminAddress, removeAdminAddress, writeAdminAddress } from '../../../src/admin/admin-address.js';

describe('admin address file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pubsync-admin-address-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sits beside the state database, owner-only whatever the umask', () => {
    const file = adminAddressFile(join(dir, 'state.db'));
    assert.equal(file, join(dir, 'state.db-admin.json'));
    const umask = process.umask(0o000);
    try {
      writeAdminAddress(file, { url: 'http://127.0.0.1:4000', pid: process.pid });
    } finally {
      process.umask(umask);
    }
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readAdminAddress(file), { url: 'http://127.0.0.1:4000', pid: process.pid });
  });

  it('is removed only by the process it names', () => {
    const file = adminAddressFile(join(dir, 'other.db'));
    writeAdminAddress(file, { url: 'http://127.0.0.1:4001', pid: process.pid + 1 });
    removeAdminAddress(file);
    assert.ok(readAdminAddress(file), 'a newer daemon wrote it: left alone');
    removeAdminAddress(file, process.pid + 1);
    assert.equal(readAdminAddress(file), undefined);
  });

  it('reads a damaged file as no address', () => {
    const file = join(dir, 'damaged.db-admin.json');
    writeFileSync(file, '{"url": ');
    assert.equal(readAdminAddress(file), undefined);
  });
});
