import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, Progress, renderBar, renderLine } from '../../../src/cli/progress.js';

describe('progress rendering', () => {
  it('draws a bar with count, percentage, rate and time left', () => {
    const line = renderBar({ label: 'catch-up people from a@x', done: 250, total: 1000, unit: 'log records', elapsedS: 5 }, 120);
    assert.equal(line, 'catch-up people from a@x [##########------------------------------] 250/1000 25% 50/s ETA 15s');
    // On an 80-column terminal a long label is cut rather than the bar dropped.
    const narrow = renderBar({ label: 'catch-up people-and-groups from a@example.org', done: 250, total: 1000, unit: 'log records', elapsedS: 5 }, 80);
    assert.equal(narrow, 'catch-up people-and-groups from a@exam... [##--------] 250/1000 25% 50/s ETA 15s');
    assert.ok(narrow.length <= 80);
  });

  it('fits a narrow terminal: no bar when there is no room, and never wider than the terminal', () => {
    const line = renderBar({ label: 'catch-up people from a@x', done: 250, total: 1000, unit: 'log records', elapsedS: 5 }, 50);
    assert.ok(line.length <= 60, line);
    assert.doesNotMatch(line, /\[/);
  });

  it('has no bar, percentage or time left without a total (a source)', () => {
    assert.equal(renderBar({ label: 'capture docs', done: 30, unit: 'entries', elapsedS: 2 }, 80), 'capture docs 30 entries, 15/s');
  });

  it('writes plain lines for logs', () => {
    assert.equal(
      renderLine({ label: 'catch-up people from a@x', done: 250, total: 1000, unit: 'log records', elapsedS: 5 }),
      'catch-up people from a@x: 250/1000 log records (25%), 50/s, about 15s left',
    );
    assert.equal(renderLine({ label: 'x', done: 0, total: 10, unit: 'entries', elapsedS: 0 }), 'x: 0/10 entries (0%)');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(4.4), '4s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(7322), '2h02m');
  });
});

describe('Progress', () => {
  function harness(tty: boolean): { progress: Progress; out: string[]; tick: (ms: number) => void } {
    const out: string[] = [];
    let now = 0;
    const progress = new Progress({ write: (text) => out.push(text), tty, columns: 100, now: () => now, lineEveryMs: 2000, redrawEveryMs: 100 });
    return { progress, out, tick: (ms) => void (now += ms) };
  }

  it('not on a terminal: a plain line every lineEveryMs at most, and a final line', () => {
    const { progress, out, tick } = harness(false);
    progress.update('k', 'catch-up n from a@x', 0, 100, 'log records');
    tick(1000);
    progress.update('k', 'catch-up n from a@x', 40, 100, 'log records');
    tick(1000);
    progress.update('k', 'catch-up n from a@x', 50, 100, 'log records');
    tick(1000);
    progress.update('k', 'catch-up n from a@x', 60, 100, 'log records');
    tick(1000);
    progress.finish('k');
    assert.deepEqual(out, ['catch-up n from a@x: 50/100 log records (50%), 25/s, about 2s left\n', 'catch-up n from a@x: 60 log records in 4s, 15/s\n']);
    assert.ok(out.every((text) => !text.includes('\u001b')), 'no terminal control sequences in a log');
  });

  it('on a terminal: redraws one line in place, and prints other lines above the bar', () => {
    const { progress, out, tick } = harness(true);
    progress.update('k', 'catch-up n from a@x', 10, 100, 'log records');
    tick(50);
    progress.update('k', 'catch-up n from a@x', 20, 100, 'log records'); // within redrawEveryMs: not drawn
    tick(950);
    progress.update('k', 'catch-up n from a@x', 50, 100, 'log records');
    progress.print('a diff line');
    progress.close();
    assert.deepEqual(out, [
      '\r\u001b[2Kcatch-up n from a@x [####------------------------------------] 10/100 10%',
      '\r\u001b[2Kcatch-up n from a@x [####################--------------------] 50/100 50% 50/s ETA 1s',
      '\r\u001b[2K',
      'a diff line\n',
      '\r\u001b[2Kcatch-up n from a@x [####################--------------------] 50/100 50% 50/s ETA 1s',
      '\r\u001b[2K',
    ]);
  });
});
