/**
 * The random workload of the convergence tests, drawn from a seed before anything runs (so a seed
 * replays the same operations; only their timing against the daemons varies), and its runner.
 */

/** One application's side of a replica: what a user of that application does, over its own API. */
export interface ReplicaApp {
  /** True when this application may change the object: it holds it, or held it and deleted it. */
  knows(key: string): Promise<boolean>;
  /** Sets one field (creates or re-creates the object when needed); false when it could not (gone meanwhile). */
  set(key: string, field: string, value: string): Promise<boolean>;
  /**
   * Removes one field; false when the object or the field was not there, else the values removed
   * (empty when the application cannot tell).
   */
  unset(key: string, field: string): Promise<{ readonly removed: readonly string[] } | false>;
  /** Deletes the object; false when it was not there. */
  remove(key: string): Promise<boolean>;
  /** Every live object, by natural key, with its fields as the application holds them. */
  snapshot(): Promise<Map<string, Readonly<Record<string, readonly unknown[]>>>>;
}

/** How a replica is cut from the others and brought back. */
export interface ReplicaControl {
  stop(): Promise<void>;
  start(): Promise<void>;
  cut(): Promise<void>;
  heal(): Promise<void>;
}

export type Change =
  | { readonly kind: 'set'; readonly at: number; readonly key: string; readonly field: string; readonly value: string }
  | { readonly kind: 'unset'; readonly at: number; readonly key: string; readonly field: string }
  | { readonly kind: 'delete'; readonly at: number; readonly key: string };

export type Step =
  | Change
  /** Changes made at the same moment on different replicas. */
  | { readonly kind: 'together'; readonly changes: readonly Change[] }
  | { readonly kind: 'pause'; readonly ms: number }
  | { readonly kind: 'stop' | 'start' | 'cut' | 'heal'; readonly at: number };

export interface PlanOptions {
  readonly replicas: number;
  /** Changes in the whole plan (each change of a concurrent pair counts). */
  readonly changes: number;
  readonly fields: readonly string[];
  /** Replicas whose daemon may be stopped, and whose connection may be cut (all when absent). */
  readonly partitionable?: readonly number[];
  /** Replicas whose applications create the objects (all when absent); the others only change them. */
  readonly creators?: readonly number[];
}

export interface Plan {
  readonly steps: readonly Step[];
  readonly keys: readonly string[];
  /** The replica whose application creates each key first. */
  readonly home: ReadonlyMap<string, number>;
}

/**
 * Four phases: all connected; one daemon stopped while every application goes on changing (its
 * restart is a catch-up); another replica's XMPP connection cut; all connected again.
 */
export function generatePlan(rng: () => number, options: PlanOptions): Plan {
  const { replicas, changes, fields } = options;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
  const keyCount = Math.max(6, Math.round(changes / 12));
  const keys = Array.from({ length: keyCount }, (_, i) => `k${String(i).padStart(3, '0')}`);
  const creators = options.creators ?? Array.from({ length: replicas }, (_, i) => i);
  const home = new Map(keys.map((key, i) => [key, creators[i % creators.length] ?? 0] as const));
  let value = 0;
  const change = (at: number, key: string, field?: string): Change => {
    const draw = rng();
    const name = field ?? pick(fields);
    if (draw < 0.1) return { kind: 'delete', at, key };
    if (draw < 0.22) return { kind: 'unset', at, key, field: name };
    return { kind: 'set', at, key, field: name, value: `v${++value}r${at}` };
  };
  const all = Array.from({ length: replicas }, (_, i) => i);
  const partitionable = options.partitionable ?? all;
  const stopped = pick(partitionable);
  const cutOnes = partitionable.filter((r) => r !== stopped);
  const cut = cutOnes.length > 0 ? pick(cutOnes) : stopped;

  const phase = (count: number): Step[] => {
    const steps: Step[] = [];
    let made = 0;
    while (made < count) {
      const draw = rng();
      if (draw < 0.2 && replicas > 1) {
        // The same object changed on two replicas at once: the same field, another field, or a delete.
        const key = pick(keys);
        const x = pick(all);
        const y = pick(all.filter((r) => r !== x));
        const kind = rng();
        const field = pick(fields);
        const first: Change = kind < 0.15 ? { kind: 'delete', at: x, key } : { kind: 'set', at: x, key, field, value: `v${++value}r${x}` };
        const other = kind < 0.6 ? field : pick(fields);
        steps.push({ kind: 'together', changes: [first, { kind: 'set', at: y, key, field: other, value: `v${++value}r${y}` }] });
        made += 2;
      } else {
        steps.push(change(pick(all), pick(keys)));
        made += 1;
      }
      // Pacing only, so that some changes cross on the wire and others do not.
      if (rng() < 0.25) steps.push({ kind: 'pause', ms: Math.floor(rng() * 60) });
    }
    return steps;
  };
  const quarter = Math.max(1, Math.floor(changes / 4));
  // Creations first, on each key's home replica, so that most later changes meet an object.
  const creations: Step[] = keys.map((key) => ({ kind: 'set', at: home.get(key) ?? 0, key, field: fields[0] ?? 'a', value: `v${++value}r${home.get(key) ?? 0}` }));
  return {
    keys,
    home,
    steps: [
      ...creations,
      ...phase(quarter),
      { kind: 'stop', at: stopped },
      ...phase(quarter),
      { kind: 'start', at: stopped },
      { kind: 'cut', at: cut },
      ...phase(quarter),
      { kind: 'heal', at: cut },
      ...phase(Math.max(1, changes - 3 * quarter - keys.length)),
    ],
  };
}

/** What the runner did: each change as made (or not, when the application could not make it). */
export interface JournalRecord {
  readonly seq: number;
  readonly change: Change;
  readonly made: boolean;
  /** For a field removal: the values it removed, as far as the application tells. */
  readonly removed?: readonly string[];
}

export class Journal {
  readonly records: JournalRecord[] = [];

  add(change: Change, made: boolean, removed?: readonly string[]): void {
    this.records.push({ seq: this.records.length, change, made, ...(removed ? { removed } : {}) });
  }

  /** Changes each replica's application made (the bound of what its daemon may publish). */
  madeBy(replicas: number): number[] {
    const counts = Array.from({ length: replicas }, () => 0);
    for (const record of this.records) if (record.made) counts[record.change.at] = (counts[record.change.at] ?? 0) + 1;
    return counts;
  }
}

/**
 * Runs the plan. A change at a replica whose application does not know the object yet (it was
 * created elsewhere and has not arrived) is not made: creating it there would be a key collision,
 * which the collision tests make on purpose, not this workload. Keys are created first at home.
 */
export async function runPlan(plan: Plan, apps: readonly ReplicaApp[], controls: readonly ReplicaControl[], journal: Journal): Promise<void> {
  const created = new Set<string>();
  const make = async (change: Change): Promise<void> => {
    const app = apps[change.at];
    if (!app) throw new Error(`no replica ${change.at}`);
    const first = !created.has(change.key) && plan.home.get(change.key) === change.at && change.kind === 'set';
    if (!first && !(await app.knows(change.key))) {
      journal.add(change, false);
      return;
    }
    created.add(change.key);
    if (change.kind === 'unset') {
      const unset = await app.unset(change.key, change.field);
      journal.add(change, unset !== false, unset === false ? undefined : unset.removed);
      return;
    }
    journal.add(change, change.kind === 'set' ? await app.set(change.key, change.field, change.value) : await app.remove(change.key));
  };
  for (const step of plan.steps) {
    switch (step.kind) {
      case 'set':
      case 'unset':
      case 'delete':
        await make(step);
        break;
      case 'together':
        await Promise.all(step.changes.map(make));
        break;
      case 'pause':
        await new Promise((resolve) => setTimeout(resolve, step.ms));
        break;
      default:
        await controls[step.at]?.[step.kind]();
    }
  }
}
