import { join } from 'node:path';
import { repoRoot } from './pubsync-process.js';

/** The three worked examples: which daemons (configs) each runs, and which servers they need. */

export type ExampleName = 'directory-to-cms' | 'couch-multimaster' | 'dbus-notes';

export const exampleNames: readonly ExampleName[] = ['directory-to-cms', 'couch-multimaster', 'dbus-notes'];

export interface DaemonSpec {
  /** Shown in the demo's output, e.g. "directory". */
  readonly label: string;
  readonly config: string;
  /** The XMPP account (local part) the config's JID variable names. */
  readonly account: string;
}

export interface ExampleSpec {
  readonly name: ExampleName;
  readonly summary: string;
  readonly daemons: readonly DaemonSpec[];
  readonly needs: { readonly ldap: boolean; readonly dbus: boolean };
}

const config = (example: ExampleName, file: string): string => join(repoRoot, 'examples', example, file);

export const examples: Readonly<Record<ExampleName, ExampleSpec>> = {
  'directory-to-cms': {
    name: 'directory-to-cms',
    summary: 'LDAP people appear as CMS contacts (CouchDB); contacts edited in the CMS flow back to LDAP',
    daemons: [
      { label: 'directory', config: config('directory-to-cms', 'directory.yaml'), account: 'directory' },
      { label: 'cms', config: config('directory-to-cms', 'cms.yaml'), account: 'cms' },
    ],
    needs: { ldap: true, dbus: false },
  },
  'couch-multimaster': {
    name: 'couch-multimaster',
    summary: 'three CouchDB databases kept in sync through XMPP, every daemon publisher and subscriber',
    daemons: (['a', 'b', 'c'] as const).map((site) => ({
      label: `site-${site}`,
      config: config('couch-multimaster', `site-${site}.yaml`),
      account: `site-${site}`,
    })),
    needs: { ldap: false, dbus: false },
  },
  'dbus-notes': {
    name: 'dbus-notes',
    summary: 'the example D-Bus notes app kept in sync with a CouchDB database, both ways',
    daemons: [
      { label: 'notes-app', config: config('dbus-notes', 'notes.yaml'), account: 'notes' },
      { label: 'memos', config: config('dbus-notes', 'memos.yaml'), account: 'memos' },
    ],
    needs: { ldap: false, dbus: true },
  },
};
