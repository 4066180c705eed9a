// Probe (not a benchmark module): what the daemon costs in memory before it does anything (tsx, module graph).
/* global process, console, URL */
const mb = (n) => (n / 1048576).toFixed(1);
const show = (label) => { const m = process.memoryUsage(); console.log(label, 'rss', mb(m.rss), 'heapUsed', mb(m.heapUsed), 'heapTotal', mb(m.heapTotal), 'external', mb(m.external), 'arrayBuffers', mb(m.arrayBuffers)); };
show('bare node');
const { register } = await import('tsx/esm/api');
register({ tsconfig: new URL('../../tsconfig.json', import.meta.url).pathname });
show('tsx registered');
await import('../../src/app/compose.ts');
show('compose.ts loaded');
await import('../../src/cli/main.ts').catch(()=>{});
show('cli loaded');
globalThis.gc?.(); show('after gc');
