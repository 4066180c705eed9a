import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, componentLogger, redactUrlCredentials } from '../../../src/logging/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logging', () => {
  it('redacts secrets wherever they sit in logged objects', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ destination: stream as never });
    logger.info({ xmpp: { jid: 'a@localhost', password: 'pw-alice' }, options: { url: 'http://admin:hunter2@db:5984/x' } }, 'config');
    const text = JSON.stringify(lines());
    assert.ok(!text.includes('pw-alice'), text);
    assert.ok(!text.includes('hunter2'), text);
    assert.ok(text.includes('a@localhost'));
    assert.ok(text.includes('db:5984'), 'the host part of a URL stays for debugging');
  });

  it('gives each component a child logger that says where a line came from', () => {
    const { stream, lines } = capture();
    const root = createLogger({ destination: stream as never });
    componentLogger(root, 'pipeline', { sink: 'cms' }).warn('slow');
    const [line] = lines();
    assert.equal(line?.['component'], 'pipeline');
    assert.equal(line?.['sink'], 'cms');
  });

  it('removes only the user-info of a URL', () => {
    assert.equal(redactUrlCredentials('https://u:p@host/db'), 'https://[Redacted]@host/db');
    assert.equal(redactUrlCredentials('https://host/db'), 'https://host/db');
  });
});
