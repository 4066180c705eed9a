/**
 * The code of an XSLT worker thread, run with `new Worker(WORKER_SOURCE, { eval: true })`.
 *
 * It is plain CommonJS in a string, not a module file, so that it runs the same under tsx, from a
 * build, and from `bin/pubsync.js` (which registers tsx in-process: workers would not inherit it).
 *
 * Sandbox, second line of defence (the first is the static check of the compiled stylesheet,
 * sandbox-policy.ts): once SaxonJS is loaded, every way this thread could read or write a file,
 * open a connection, start a process or evaluate JavaScript is replaced by a function that
 * throws. The thread does nothing but run transforms, so nothing legitimate needs them; SaxonJS
 * reports the refusal as an ordinary XSLT error (e.g. FOUT1170) whatever the stylesheet asked.
 * collection() needs no lock: without a collectionFinder SaxonJS knows no collection at all.
 *
 * Protocol: out { ready: true } once loaded and locked down; in { id, key, sef?, source, params };
 * out { id, output, messages } or
 * { id, error: { code, message, line, module } } or { id, missing: true } when the thread has not
 * got the compiled stylesheet `key` (the pool then resends it with `sef`).
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const SaxonJS = require(workerData.saxonPath);

const MAX_STYLESHEETS = 32;
const MAX_MESSAGES = 20;
const MAX_MESSAGE_LENGTH = 2000;

function refused(what) {
  return function refusedOperation() {
    throw new Error(what + ' is not allowed in a pubsync transform (sandbox)');
  };
}

function lockDown() {
  const fs = require('node:fs');
  for (const name of Object.keys(fs)) {
    if (typeof fs[name] === 'function' && /^[a-z]/.test(name)) fs[name] = refused('file access (fs.' + name + ')');
  }
  for (const name of Object.keys(fs.promises)) {
    if (typeof fs.promises[name] === 'function') fs.promises[name] = refused('file access (fs.promises.' + name + ')');
  }
  for (const mod of ['node:http', 'node:https', 'node:http2']) {
    const m = require(mod);
    for (const name of ['request', 'get', 'connect']) if (typeof m[name] === 'function') m[name] = refused('network access');
  }
  const net = require('node:net');
  net.connect = net.createConnection = refused('network access');
  const tls = require('node:tls');
  tls.connect = refused('network access');
  const dgram = require('node:dgram');
  dgram.createSocket = refused('network access');
  const cp = require('node:child_process');
  for (const name of Object.keys(cp)) if (typeof cp[name] === 'function') cp[name] = refused('starting processes');
  globalThis.fetch = refused('network access');
  globalThis.eval = refused('JavaScript evaluation');
  globalThis.Function = refused('JavaScript evaluation');
  process.binding = refused('process.binding');
  process.dlopen = refused('native addons');
  process.chdir = refused('process.chdir');
  process.env = {};
}

lockDown();

const stylesheets = new Map();

function describeMessage(node) {
  const text = node && typeof node.textContent === 'string' ? node.textContent : String(node);
  return text.length > MAX_MESSAGE_LENGTH ? text.slice(0, MAX_MESSAGE_LENGTH) + '…' : text;
}

function errorOf(e) {
  const isObject = typeof e === 'object' && e !== null;
  const message = isObject && typeof e.message === 'string' ? e.message : String(e);
  let code = isObject && typeof e.code === 'string' ? e.code : undefined;
  if (code === undefined && isObject && e.name === 'RangeError') code = 'STACK_OVERFLOW';
  const line = isObject && e.xsltLineNr !== undefined ? Number(e.xsltLineNr) : undefined;
  const module = isObject && typeof e.xsltModule === 'string' ? e.xsltModule : undefined;
  return { code: code || 'XSLT_ERROR', message, line: Number.isFinite(line) ? line : undefined, module };
}

parentPort.postMessage({ ready: true });

parentPort.on('message', (job) => {
  let sef = stylesheets.get(job.key);
  if (job.sef !== undefined) {
    if (stylesheets.size >= MAX_STYLESHEETS) stylesheets.clear();
    sef = JSON.parse(job.sef);
    stylesheets.set(job.key, sef);
  }
  if (sef === undefined) {
    parentPort.postMessage({ id: job.id, missing: true });
    return;
  }
  const messages = [];
  try {
    const result = SaxonJS.transform(
      {
        stylesheetInternal: sef,
        sourceText: job.source,
        destination: 'serialized',
        stylesheetParams: job.params,
        deliverMessage: (node) => {
          if (messages.length < MAX_MESSAGES) messages.push(describeMessage(node));
        },
      },
      'sync',
    );
    parentPort.postMessage({ id: job.id, output: String(result.principalResult ?? ''), messages });
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: errorOf(e), messages });
  }
});
`;
