export { createXsltTransform, type XsltTransform, type XsltTransformOptions } from './xslt-transform.js';
export { SefCompiler, defaultCacheDir, type CompiledStylesheet, type SefCompilerOptions } from './sef-compiler.js';
export { XsltWorkerPool, type XsltParams, type XsltRunError, type XsltRunResult, type XsltWorkerPoolOptions } from './xslt-worker-pool.js';
export { findSandboxViolations, type SandboxViolation } from './sandbox-policy.js';
export type { CompileDiagnostic } from './compile-diagnostic.js';
export { checkStylesheets, resolveStylesheet } from './check-stylesheets.js';
