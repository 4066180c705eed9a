import { examples, type ExampleName } from './example-catalog.js';
import { startPubsync, type PubsyncProcess } from './pubsync-process.js';

/** The daemons of some examples, each a `pubsync run --config examples/<name>/<file>.yaml` child. */
export interface ExampleDaemons {
  readonly all: readonly PubsyncProcess[];
  byLabel(label: string): PubsyncProcess;
  /** SIGTERM to all at once (each drains and commits); resolves with each one's exit code. */
  stop(): Promise<Record<string, number | string>>;
}

/** Starts them together and resolves once every one logged `ready`; on a failure stops them all. */
export async function startExampleDaemons(
  names: readonly ExampleName[],
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
): Promise<ExampleDaemons> {
  const childEnv = { ...process.env, ...env };
  const all = names.flatMap((name) => examples[name].daemons.map((spec) => startPubsync(spec.label, spec.config, childEnv, args)));
  const daemons: ExampleDaemons = {
    all,
    byLabel(label) {
      const found = all.find((daemon) => daemon.label === label);
      if (!found) throw new Error(`no daemon ${label}`);
      return found;
    },
    async stop() {
      const codes = await Promise.all(all.map((daemon) => daemon.stop()));
      return Object.fromEntries(all.map((daemon, i) => [daemon.label, codes[i] ?? 'unknown']));
    },
  };
  try {
    await Promise.all(all.map((daemon) => daemon.ready));
  } catch (error) {
    await daemons.stop();
    throw error;
  }
  return daemons;
}
