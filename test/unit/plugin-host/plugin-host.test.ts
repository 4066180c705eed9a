import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ErrorCodes, RecordError, SyncError } from '../../../src/errors/index.js';
import type { PluginContext, SourceBatch } from '../../../src/plugin-api/index.js';
import { PluginHost, type PlannedInstance, type PluginHostOptions } from '../../../src/plugin-host/index.js';
import { MemoryPluginState } from '../../../src/testing/index.js';
import { captureLogger, identityTransform, idleSource, nullSink, planned, type CapturedLogger } from './support.js';

function hostOf(
  instances: PlannedInstance[],
  options: Partial<PluginHostOptions> = {},
): { host: PluginHost; log: CapturedLogger } {
  const log = captureLogger();
  const host = new PluginHost(instances, {
    logger: log.logger,
    clock: { now: () => 0 },
    state: new MemoryPluginState(),
    replica: { id: 7, jid: 'a@example.org' },
    ...options,
  });
  return { host, log };
}

/** Records lifecycle events of instances in one shared list. */
function recorder() {
  const events: string[] = [];
  const track = <T extends object>(label: string, context: PluginContext, instance: T): T => {
    events.push(`create ${label}`);
    context.signal.addEventListener('abort', () => events.push(`abort ${label}`));
    return { ...instance, close: async () => void events.push(`close ${label}`) };
  };
  return { events, track };
}

async function firstError(iterable: AsyncIterable<SourceBatch>): Promise<unknown> {
  try {
    for await (const _ of iterable) {
      // drain
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('plugin host lifecycle', () => {
  it('creates sinks, then transforms, then sources, and stops in reverse after aborting all', async () => {
    const { events, track } = recorder();
    const { host } = hostOf([
      planned('source', 'in-1', (ctx) => track('source in-1', ctx, idleSource())),
      planned('sink', 'out', (ctx) => track('sink out', ctx, nullSink())),
      planned('source', 'in-2', (ctx) => track('source in-2', ctx, idleSource())),
      planned('transform', 'map', (ctx) => track('transform map', ctx, identityTransform())),
    ]);
    await host.start();
    assert.deepEqual(events.splice(0), [
      'create sink out',
      'create transform map',
      'create source in-1',
      'create source in-2',
    ]);
    assert.deepEqual(host.sources.map((s) => s.name), ['in-1', 'in-2']);

    const report = await host.stop();
    assert.deepEqual(events, [
      'abort source in-2',
      'abort source in-1',
      'abort transform map',
      'abort sink out',
      'close source in-2',
      'close source in-1',
      'close transform map',
      'close sink out',
    ]);
    assert.deepEqual(report.closed, [
      'source:in-2 (source-plugin)',
      'source:in-1 (source-plugin)',
      'transform:map (transform-plugin)',
      'sink:out (sink-plugin)',
    ]);
    assert.equal(await host.stop(), report, 'stop() again returns the same report');
  });

  it('skips a plugin that hangs in close() after its timeout and closes the others', async () => {
    const closed: string[] = [];
    const { host, log } = hostOf(
      [
        planned('sink', 'stuck', () => ({ ...nullSink(), close: () => new Promise<void>(() => undefined) })),
        planned('source', 'fine', () => ({ ...idleSource(), close: async () => void closed.push('fine') })),
        planned('sink', 'last', () => ({ ...nullSink(), close: async () => void closed.push('last') })),
      ],
      { closeTimeoutMs: 50 },
    );
    await host.start();
    const started = performance.now();
    const report = await host.stop();
    const elapsed = performance.now() - started;

    assert.ok(elapsed < 1_000, `stop took ${elapsed} ms`);
    assert.deepEqual(report.timedOut, ['sink:stuck (sink-plugin)']);
    assert.deepEqual(closed, ['fine', 'last']);
    const line = log.lines.find((l) => l['code'] === ErrorCodes.PLUGIN_STOP_TIMEOUT);
    assert.ok(line, 'the timeout is logged with its code');
    assert.equal(line['instance'], 'sink:stuck (sink-plugin)');
  });

  it('keeps to the overall stop deadline whatever the per-plugin timeout', async () => {
    const hang = () => ({ ...nullSink(), close: () => new Promise<void>(() => undefined) });
    const { host } = hostOf([planned('sink', 'a', hang), planned('sink', 'b', hang), planned('sink', 'c', hang)], {
      closeTimeoutMs: 5_000,
      stopDeadlineMs: 100,
    });
    await host.start();
    const started = performance.now();
    const report = await host.stop();
    assert.ok(performance.now() - started < 1_000);
    assert.equal(report.timedOut.length, 3);
  });

  it('logs a plugin whose close() fails and goes on', async () => {
    const { host, log } = hostOf([
      planned('sink', 'bad', () => ({ ...nullSink(), close: async () => Promise.reject(new Error('socket gone')) })),
      planned('source', 'ok', () => idleSource()),
    ]);
    await host.start();
    const report = await host.stop();
    assert.deepEqual(report.failed, ['sink:bad (sink-plugin)']);
    assert.deepEqual(report.closed, ['source:ok (source-plugin)']);
    const line = log.lines.find((l) => l['msg'] === 'plugin failed to close');
    const err = line?.['err'] as { message?: string } | undefined;
    assert.match(String(err?.message), /\[sink:bad \(sink-plugin\)\] close failed: socket gone/);
  });

  it('stops the instances already created when a create() fails', async () => {
    const { events, track } = recorder();
    const { host } = hostOf([
      planned('sink', 'out', (ctx) => track('sink out', ctx, nullSink())),
      planned('source', 'in', () => {
        throw new Error('bad credentials');
      }),
    ]);
    await assert.rejects(host.start(), /\[source:in \(source-plugin\)\] create failed: bad credentials/);
    assert.deepEqual(events, ['create sink out', 'abort sink out', 'close sink out']);
  });

  it('may be called only once', async () => {
    const { host } = hostOf([]);
    await host.start();
    await assert.rejects(host.start(), /only once/);
  });
});

describe('plugin host error wrapping', () => {
  it('wraps an error thrown by create() as a SyncError naming the instance and hook', async () => {
    const { host } = hostOf([planned('source', 'people', () => Promise.reject(new Error('boom')), 'ldap')]);
    await assert.rejects(host.start(), (error: SyncError) => {
      assert.ok(error instanceof SyncError);
      assert.equal(error.plugin, 'source:people (ldap)');
      assert.equal(error.kind, 'transient');
      assert.equal(error.code, ErrorCodes.PLUGIN_FAILED);
      assert.equal(error.details['hook'], 'create');
      assert.equal((error.cause as Error).message, 'boom');
      return true;
    });
  });

  it('keeps the kind and code of a SyncError a plugin throws', async () => {
    const { host } = hostOf([
      planned('sink', 'crm', () => {
        throw new ConfigError(ErrorCodes.CONFIG_INVALID, 'database "crm" does not exist');
      }, 'couchdb'),
    ]);
    await assert.rejects(host.start(), (error: SyncError) => {
      assert.equal(error.kind, 'config');
      assert.equal(error.code, ErrorCodes.CONFIG_INVALID);
      assert.equal(error.message, '[sink:crm (couchdb)] database "crm" does not exist');
      return true;
    });
  });

  it('refuses a create() that returns something of the wrong kind', async () => {
    const { host } = hostOf([planned('source', 'odd', () => nullSink() as never)]);
    await assert.rejects(host.start(), (error: SyncError) => {
      assert.equal(error.code, ErrorCodes.PLUGIN_INVALID);
      assert.match(error.message, /create\(\) returned no source \(it has no start\(\) method\)/);
      return true;
    });
  });

  it('wraps errors of a source’s iteration, whether start() throws or the iteration does', async () => {
    const { host } = hostOf([
      planned('source', 'sync', () => ({
        start: () => {
          throw new Error('not iterable today');
        },
      })),
      planned('source', 'async', () => ({
        async *start() {
          yield { changes: [], checkpoint: '1' };
          throw new RecordError('PUBSYNC_ERR_TEST', 'bad record');
        },
      })),
      planned('source', 'shape', () => ({
        async *start() {
          yield { changes: [] } as unknown as SourceBatch;
        },
      })),
    ]);
    await host.start();
    const [sync, async, shape] = await Promise.all(host.sources.map((source) => firstError(source.start(undefined))));
    assert.match(String(sync), /\[source:sync \(source-plugin\)\] start failed: not iterable today/);
    assert.ok(async instanceof SyncError && async.kind === 'record' && async.plugin === 'source:async (source-plugin)');
    assert.match(String(shape), /yielded something other than a batch/);
    await host.stop();
  });

  it('wraps errors of apply(), and refuses an outcome list that does not match the batch', async () => {
    const { host } = hostOf([
      planned('sink', 'throws', () => ({ apply: () => Promise.reject(new Error('disk full')) })),
      planned('sink', 'short', () => ({ apply: async () => [] })),
      planned('transform', 'broken', () => ({ apply: () => Promise.reject(new Error('xslt error')) })),
    ]);
    await host.start();
    const entry = { op: 'ignored' } as never;
    await assert.rejects(host.sink('throws')!.apply([]), /\[sink:throws \(sink-plugin\)\] apply failed: disk full/);
    await assert.rejects(host.sink('short')!.apply([{ entry, fields: [] }]), /returned 0 outcomes for 1 operations/);
    await assert.rejects(
      host.transform('broken')!.apply([]),
      /\[transform:broken \(transform-plugin\)\] apply failed: xslt error/,
    );
    await host.stop();
  });

  it('ends a source’s iteration when the host stops', async () => {
    const { host } = hostOf([planned('source', 'idle', () => idleSource())]);
    await host.start();
    const iteration = firstError(host.source('idle')!.start(undefined));
    await host.stop();
    assert.equal(await iteration, undefined);
  });
});
