/**
 * The source's checkpoint: the RFC 4533 sync cookie `rid=000,csn=<entryCSN>`. While a full
 * snapshot is under way it is prefixed `resync;`, so a restart redoes the snapshot instead of
 * skipping what it had not reached. A cookie without csn means "the whole retained log".
 */
export interface Cursor {
  readonly csn: string | undefined;
  readonly resync: boolean;
}

const RESYNC = 'resync;';
const RID = 'rid=000';

export function formatCookie(cursor: Cursor): string {
  const cookie = cursor.csn === undefined ? RID : `${RID},csn=${cursor.csn}`;
  return cursor.resync ? `${RESYNC}${cookie}` : cookie;
}

/** undefined when the checkpoint is not one of ours. */
export function parseCheckpoint(checkpoint: string): Cursor | undefined {
  const resync = checkpoint.startsWith(RESYNC);
  const cookie = resync ? checkpoint.slice(RESYNC.length) : checkpoint;
  if (!/^rid=\d{3}(,|$)/.test(cookie)) return undefined;
  return { csn: cookieOf(Buffer.from(cookie)), resync };
}

/** The newest CSN in a server cookie (`rid=000,csn=a;b` lists one per server id). */
export function cookieOf(cookie: Buffer): string | undefined {
  const match = /(?:^|,)csn=([^,]*)/.exec(cookie.toString('utf8'));
  if (!match?.[1]) return undefined;
  return match[1].split(';').sort().at(-1);
}
