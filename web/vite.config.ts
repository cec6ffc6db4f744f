/**
 * Two pages, one build: the dashboard (index.html, served at `/`) and the playground
 * (playground.html, served at `/playground`). Assets go under `/ui/`, a prefix no API path uses.
 * onnxruntime-web's WASM is not bundled (its extern-wasm build): the cloud serves it at `/ort/` from
 * node_modules, and the pages load it from there (`wasmPaths: '/ort/'`).
 */
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(`./${name}.html`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    rollupOptions: { input: { index: page('index'), playground: page('playground') } },
  },
});
