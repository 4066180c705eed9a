/**
 * The dbus plugin: a source and a sink for one D-Bus-signalled application (a List/Get/Put/Delete
 * interface plus a change signal), e.g. examples/dbus-notes-app. See docs/adapters/dbus.md.
 */
import { definePlugin } from '../../src/plugin-api/index.js';
import { dbusOptions } from './config.js';
import { DbusSink } from './dbus-sink.js';
import { DbusSource } from './dbus-source.js';

export const dbusSource = definePlugin({
  kind: 'source',
  name: 'dbus',
  summary: "Captures an app's changes from its D-Bus change signal, with rescans on start and when the app reappears",
  configSchema: dbusOptions,
  create: (options, context) => new DbusSource(options, context),
});

export const dbusSink = definePlugin({
  kind: 'sink',
  name: 'dbus',
  summary: "Writes objects through an app's D-Bus Put and Delete methods",
  configSchema: dbusOptions,
  create: (options, context) => new DbusSink(options, context),
});

export const plugins = [dbusSource, dbusSink] as const;
