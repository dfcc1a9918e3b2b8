// monaco-yaml's language worker, re-exported from our own module so Vite bundles it as a module
// worker served from the app itself (CSP worker-src 'self'; works offline, no CDN).
import 'monaco-yaml/yaml.worker.js';
