import { join } from 'node:path';
import { startDemoServices, type DemoServices } from '../../../examples/demo/demo-services.js';
import type { ExampleName } from '../../../examples/demo/example-catalog.js';
import { startExampleDaemons, type ExampleDaemons } from '../../../examples/demo/example-daemons.js';
import { runTour } from '../../../examples/demo/tours.js';
import { openStateStore } from '../../../src/state/index.js';

/**
 * One worked example running as a user runs it: the real servers from the harnesses, and each of
 * its daemons as a `pubsync run --config examples/<name>/<file>.yaml` child process.
 */
export class ExampleStack {
  services: DemoServices | undefined;
  daemons: ExampleDaemons | undefined;
  /** What the tour printed, for the failure message. */
  readonly output: string[] = [];

  constructor(readonly name: ExampleName) {}

  /** The servers only; startDaemons() after, so a test can put data in first (an initial sync). */
  async startServices(): Promise<DemoServices> {
    this.services = await startDemoServices([this.name]);
    return this.services;
  }

  async startDaemons(): Promise<void> {
    this.daemons = await startExampleDaemons([this.name], this.running.env);
  }

  get running(): DemoServices {
    if (!this.services) throw new Error('the example is not started');
    return this.services;
  }

  /** The scripted changes of the demo; resolves once every one has arrived on the other side(s). */
  async tour(): Promise<void> {
    try {
      await runTour(this.name, this.running, { line: (text) => this.output.push(text) });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.output.join('\n')}\n${this.logs()}`, { cause: error });
    }
  }

  logs(): string {
    return (this.daemons?.all ?? []).map((daemon) => `-- ${daemon.label}:\n${daemon.brief(15)}`).join('\n');
  }

  /** SIGTERM to every daemon; resolves with the exit codes by label. */
  async stopDaemons(): Promise<Record<string, number | string>> {
    const codes = (await this.daemons?.stop()) ?? {};
    this.daemons = undefined;
    return codes;
  }

  /** Dead letters of one daemon's state database (read once its daemon has stopped). */
  deadLetters(stateFile: string): { code: string; message: string }[] {
    const store = openStateStore(join(this.running.env['PUBSYNC_STATE_DIR'] ?? '', stateFile));
    try {
      return store.listDeadLetters({ limit: 100 }).map((letter) => ({ code: letter.code, message: letter.message }));
    } finally {
      store.close();
    }
  }

  async stop(): Promise<void> {
    await this.stopDaemons();
    await this.services?.stop();
  }
}
