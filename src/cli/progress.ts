/**
 * Progress of long catch-ups and initial syncs on the terminal: a bar redrawn in place (count,
 * rate, time left) when the output is a TTY, plain lines at intervals when it is not (cron, a
 * pipe, a log file). Rendering is pure (renderBar, renderLine) so it is tested without a terminal.
 */

export interface ProgressSnapshot {
  readonly label: string;
  readonly done: number;
  /** Unknown for a source (nothing says how much is left). */
  readonly total?: number;
  readonly unit: string;
  /** Seconds since the task started. */
  readonly elapsedS: number;
}

export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  /** Terminal width (TTY only). */
  readonly columns?: number;
  readonly now?: () => number;
  /** Plain lines: at most one per task this often (ms). */
  readonly lineEveryMs?: number;
  /** TTY: redraws at most this often (ms). */
  readonly redrawEveryMs?: number;
}

interface Task {
  label: string;
  done: number;
  total: number | undefined;
  unit: string;
  readonly startedAt: number;
  lastLine: number;
}

const CLEAR_LINE = '\r\u001b[2K';

export class Progress {
  readonly #options: ProgressOptions;
  readonly #now: () => number;
  readonly #tasks = new Map<string, Task>();
  #current: string | undefined;
  #drawn = false;
  #lastDraw = Number.NEGATIVE_INFINITY;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Where a task stands; the first call starts its clock. */
  update(key: string, label: string, done: number, total: number | undefined, unit = 'entries'): void {
    const now = this.#now();
    let task = this.#tasks.get(key);
    if (!task) {
      task = { label, done, total, unit, startedAt: now, lastLine: now };
      this.#tasks.set(key, task);
    }
    Object.assign(task, { label, done, total, unit });
    this.#current = key;
    if (this.#options.tty) {
      if (now - this.#lastDraw >= (this.#options.redrawEveryMs ?? 100)) this.#draw(now);
    } else if (now - task.lastLine >= (this.#options.lineEveryMs ?? 2000)) {
      task.lastLine = now;
      this.#options.write(`${renderLine(this.#snapshot(task, now))}\n`);
    }
  }

  /** Ends a task with its final line (always written, on a TTY as on a pipe). */
  finish(key: string): void {
    const task = this.#tasks.get(key);
    if (!task) return;
    this.#tasks.delete(key);
    const snapshot = this.#snapshot(task, this.#now());
    this.print(`${snapshot.label}: ${snapshot.done} ${snapshot.unit} in ${formatDuration(snapshot.elapsedS)}${rateText(snapshot)}`);
    if (this.#current === key) this.#current = [...this.#tasks.keys()].at(-1);
  }

  /** Writes a line of other output without tearing the bar. */
  print(line: string): void {
    if (this.#drawn) this.#options.write(CLEAR_LINE);
    this.#drawn = false;
    this.#options.write(`${line}\n`);
    if (this.#options.tty && this.#current !== undefined) this.#draw(this.#now());
  }

  /** Clears the bar (before the process prints its summary or exits). */
  close(): void {
    if (this.#drawn) this.#options.write(CLEAR_LINE);
    this.#drawn = false;
    this.#current = undefined;
  }

  #draw(now: number): void {
    const task = this.#current === undefined ? undefined : this.#tasks.get(this.#current);
    if (!task) return;
    this.#lastDraw = now;
    this.#options.write(`${CLEAR_LINE}${renderBar(this.#snapshot(task, now), this.#options.columns ?? 80)}`);
    this.#drawn = true;
  }

  #snapshot(task: Task, now: number): ProgressSnapshot {
    return { label: task.label, done: task.done, ...(task.total === undefined ? {} : { total: task.total }), unit: task.unit, elapsedS: (now - task.startedAt) / 1000 };
  }
}

/** One terminal line: label, bar (when the total is known), count, percentage, rate, time left. */
export function renderBar(snapshot: ProgressSnapshot, columns: number): string {
  const { label, done, total, unit } = snapshot;
  if (total === undefined) return fit(`${label} ${done} ${unit}${rateText(snapshot)}`, columns);
  // Terse, so that a bar fits beside a long label on an 80-column terminal.
  const r = rate(snapshot);
  const left = timeLeft(snapshot);
  const tail = `${done}/${total} ${percent(done, total)}%${r === undefined ? '' : ` ${rateValue(r)}/s`}${left === undefined ? '' : ` ETA ${left}`}`;
  const MIN_BAR = 10;
  // Room for the label with the smallest bar; a long label is cut rather than the bar dropped.
  const labelRoom = columns - tail.length - 4 - MIN_BAR;
  if (labelRoom < 12) return fit(`${label} ${tail}`, columns);
  const shown = fit(label, labelRoom);
  const width = Math.min(columns - shown.length - tail.length - 4, 40);
  const filled = total <= 0 ? width : Math.min(width, Math.floor((done / total) * width));
  return `${shown} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${tail}`;
}

/** One plain line for a log or a pipe. */
export function renderLine(snapshot: ProgressSnapshot): string {
  const { label, done, total, unit } = snapshot;
  const count = total === undefined ? `${done} ${unit}` : `${done}/${total} ${unit} (${percent(done, total)}%)`;
  const left = timeLeft(snapshot);
  return `${label}: ${count}${rateText(snapshot)}${left === undefined ? '' : `, about ${left} left`}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function rate(snapshot: ProgressSnapshot): number | undefined {
  return snapshot.elapsedS > 0 && snapshot.done > 0 ? snapshot.done / snapshot.elapsedS : undefined;
}

function rateValue(r: number): string {
  return r >= 10 ? String(Math.round(r)) : r.toFixed(1);
}

function rateText(snapshot: ProgressSnapshot): string {
  const r = rate(snapshot);
  return r === undefined ? '' : `, ${rateValue(r)}/s`;
}

/** The time left at the rate so far; undefined when unknown or done. */
function timeLeft(snapshot: ProgressSnapshot): string | undefined {
  const r = rate(snapshot);
  if (r === undefined || snapshot.total === undefined || snapshot.done >= snapshot.total) return undefined;
  return formatDuration((snapshot.total - snapshot.done) / r);
}

function percent(done: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

function fit(text: string, columns: number): string {
  return text.length <= columns ? text : `${text.slice(0, Math.max(0, columns - 3))}...`;
}
