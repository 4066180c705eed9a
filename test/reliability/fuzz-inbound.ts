import { xml } from '@xmpp/client';
import { CsnClock, parseFeed } from '../../src/format/index.js';
import { openStateStore } from '../../src/state/index.js';
import { NS_CATCHUP, NS_RSM } from '../../src/transport/catch-up.js';
import { ensureNode, publish, RawXml } from '../../src/transport/pubsub-nodes.js';
import { StanzaRequestError, XmppConnection } from '../../src/transport/xmpp-connection.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../harness/prosody.js';
import { eventually, quiet, Replica } from '../integration/xmpp/replicas.js';
import { seededRandom } from '../support/seeded-random.js';
import { FUZZ_KINDS, fuzzCase, goodFeed, type FuzzKind } from './fuzz-cases.js';

/**
 * Fuzzed items through the real subscriber path: a raw publisher (an XMPP client that is on the
 * node's publisher list, answering catch-up with "nothing more") publishes seeded bad feeds to a
 * whitelist node on a real Prosody; daemon beta (the real composition root, memory sink) is
 * subscribed. Every `markerEvery` cases a good entry follows and must arrive: the flow goes on.
 * At the end each case must have exactly one outcome: dead-lettered, or applied (a mutation that
 * left a valid entry), or refused by the server.
 */
export interface FuzzRunOptions {
  readonly seed: number;
  readonly cases: number;
  readonly markerEvery: number;
}

export interface KindFigures {
  cases: number;
  deadLettered: number;
  applied: number;
}

export interface FuzzRunResult {
  readonly seed: number;
  readonly cases: number;
  readonly markers: number;
  readonly deadLetters: number;
  /** Sink operations for case entries (mutations that left a valid entry). */
  readonly applied: number;
  /** Cases whose outcome could be tied to their key, by kind. */
  readonly byKind: Record<FuzzKind, KindFigures>;
  /** Case keys that ended with no outcome, or more than one. */
  readonly unaccounted: string[];
  /** Publishes by a JID off the publisher list, all refused by the server (condition). */
  readonly outsiderRefusals: string[];
  /** Dead letters without a code or message. */
  readonly unclear: number;
  readonly ms: number;
}

const NODE = 'fuzz';
const ORIGIN = { jid: 'fuzzer@localhost', replica: 9 };

export async function runInboundFuzz(options: FuzzRunOptions): Promise<FuzzRunResult> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const prosody = await startProsody({ admins: [ORIGIN.jid], startTimeoutMs: 60_000 });
  const fuzzerAccount = await prosody.createAccount('fuzzer');
  const betaAccount = await prosody.createAccount('beta');
  const outsiderAccount = await prosody.createAccount('outsider');
  const fuzzer = connect(prosody, fuzzerAccount, 'pubsync');
  const outsider = connect(prosody, outsiderAccount, 'pubsync');
  const beta = new Replica(prosody, { account: betaAccount, replica: 2, subscriptions: [{ name: 'from-fuzzer', node: NODE, publisher: ORIGIN.jid }] });
  try {
    await fuzzer.start();
    await outsider.start();
    // The origin's side of catch-up: pages of the feeds the subscriber will take, after its position.
    const log: { seq: bigint; xml: string }[] = [];
    fuzzer.handleGet(NS_CATCHUP, 'query', (_from, query) => {
      const afterText = query.getChild('set', NS_RSM)?.getChildText('after') ?? '0';
      const after = /^\d+$/.test(afterText) ? BigInt(afterText) : 0n;
      const page = log.filter((f) => f.seq > after).slice(0, 20);
      const last = page.at(-1)?.seq ?? after;
      const head = log.at(-1)?.seq ?? 0n;
      return xml(
        'query',
        { xmlns: NS_CATCHUP, node: String(query.attrs.node), head: String(head) },
        ...page.map((f) => new RawXml(f.xml) as unknown as ReturnType<typeof xml>),
        xml('set', { xmlns: NS_RSM }, xml('last', {}, String(last))),
      );
    });
    await ensureNode(fuzzer, prosody.pubsubService, { name: NODE, access: 'whitelist', members: [betaAccount.jid], publishers: [], maxItems: 16, persistItems: true, route: {} }, quiet);
    await beta.start();

    const clock = new CsnClock({ replica: ORIGIN.replica });
    // The subscriber's position, mirrored: a feed it can parse and trust moves it on.
    let received = 0n;
    let markers = 0;
    // One outcome per case, except a feed the subscriber takes: one per distinct entry in it (an empty feed has none).
    let expected = 0;
    const outsiderRefusals: string[] = [];
    const kinds = new Map<string, FuzzKind>();
    // Cases that must end in exactly one outcome we can find by their key.
    const traceable: string[] = [];
    const markerKeys: string[] = [];
    const sendMarker = async (): Promise<void> => {
      const key = `marker-${markers++}`;
      const feed = goodFeed({ origin: ORIGIN, key, seq: received + 1n, clock });
      received += 1n;
      log.push({ seq: received, xml: feed });
      await publish(fuzzer, prosody.pubsubService, NODE, key, feed);
      markerKeys.push(key);
      await eventually(`good entry ${key} after the bad ones`, () => beta.sink.objects.has(key), 60_000);
    };
    await sendMarker();
    for (let n = 0; n < options.cases; n++) {
      const item = fuzzCase(random, n, { origin: ORIGIN, seq: received + 1n, clock });
      kinds.set(item.key, item.kind);
      const outcomes = outcomesOf(item.xml);
      expected += outcomes;
      if (outcomes === 1 && item.xml.includes(`>${item.key}<`)) traceable.push(item.key);
      if (trusted(item.xml)) {
        received += 1n;
        log.push({ seq: received, xml: item.xml });
      }
      await publish(fuzzer, prosody.pubsubService, NODE, `${item.kind}-${n}`, item.xml);
      if (n % 25 === 0) {
        try {
          await publish(outsider, prosody.pubsubService, NODE, `outsider-${n}`, goodFeed({ origin: ORIGIN, key: `outsider-${n}`, seq: received + 1n, clock }));
          outsiderRefusals.push('accepted');
        } catch (error) {
          outsiderRefusals.push(error instanceof StanzaRequestError ? error.condition : String(error));
        }
      }
      if ((n + 1) % options.markerEvery === 0) await sendMarker();
    }
    await sendMarker();
    await beta.transport.subscriber.idle();

    // Outcomes, tied to case keys where the key survived the mutation.
    const outcomes = new Map<string, number>();
    const bump = (key: string | undefined): void => {
      if (key?.startsWith('case-')) outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };
    const letters = allDeadLetters(beta);
    for (const letter of letters) bump(/>(case-\d+)</.exec(letter.payload)?.[1] ?? /"(case-\d+)"/.exec(letter.message)?.[1]);
    const applied = beta.sink.calls.flat().filter((op) => !String(op.entry.keys[0]?.value).startsWith('marker-'));
    for (const op of applied) bump(String(op.entry.keys[0]?.value));
    const byKind = Object.fromEntries(FUZZ_KINDS.map((kind) => [kind, { cases: 0, deadLettered: 0, applied: 0 }])) as Record<FuzzKind, KindFigures>;
    for (const kind of kinds.values()) byKind[kind].cases++;
    for (const letter of letters) {
      const key = /(case-\d+)/.exec(letter.payload)?.[1];
      const kind = key === undefined ? undefined : kinds.get(key);
      if (kind) byKind[kind].deadLettered++;
    }
    for (const op of applied) {
      const kind = kinds.get(String(op.entry.keys[0]?.value));
      if (kind) byKind[kind].applied++;
    }
    const unaccounted = [...outcomes].filter(([, count]) => count !== 1).map(([key, count]) => `${key}(${kinds.get(key)}): ${count} outcomes`);
    for (const key of traceable) if (!outcomes.has(key)) unaccounted.push(`${key}(${kinds.get(key)}): no outcome`);
    // Totals catch the cases whose key did not survive: each case exactly one outcome.
    const total = letters.length + applied.length;
    if (total !== expected) unaccounted.push(`total outcomes ${total}, expected ${expected} for ${options.cases} cases`);
    return {
      seed: options.seed,
      cases: options.cases,
      markers,
      deadLetters: letters.length,
      applied: applied.length,
      byKind,
      unaccounted,
      outsiderRefusals,
      unclear: letters.filter((l) => !/^PUBSYNC_ERR_/.test(l.code) || l.message.length < 10).length,
      ms: Date.now() - started,
    };
  } finally {
    await beta.dispose();
    await fuzzer.stop();
    await outsider.stop();
    await prosody.stop();
  }
}

/** What the subscriber will take in order: a feed it parses, from the publisher it expects. */
function trusted(text: string): boolean {
  try {
    return parseFeed(text).origin.jid === ORIGIN.jid;
  } catch {
    return false;
  }
}

function outcomesOf(text: string): number {
  if (!trusted(text)) return 1;
  // The same version of an object twice in one feed is applied once: the second is no change.
  return new Set(parseFeed(text).entries.map((e) => `${e.id} ${e.csn}`)).size;
}

function allDeadLetters(replica: Replica): { code: string; message: string; payload: string }[] {
  const store = openStateStore(replica.config().config.state.path);
  try {
    const out: { code: string; message: string; payload: string }[] = [];
    for (let afterId = 0; ; ) {
      const page = store.listDeadLetters({ afterId, limit: 1000 });
      if (page.length === 0) return out;
      for (const letter of page) {
        afterId = letter.id;
        out.push({ code: letter.code, message: letter.message, payload: typeof letter.payload === 'string' ? letter.payload : Buffer.from(letter.payload).toString('utf8') });
      }
    }
  } finally {
    store.close();
  }
}

function connect(prosody: ProsodyServer, account: XmppAccount, resource: string): XmppConnection {
  return new XmppConnection({ service: prosody.service, domain: prosody.domain, jid: account.jid, password: account.password, resource, tls: 'required', logger: quiet });
}
