import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The agent workspace: sources in workspace/, built into dist/workspace/, which the Liaison
// binary embeds and serves at /workspace/. `npm run dev` proxies the APIs to a local Liaison
// (LIAISON_URL, default http://127.0.0.1:8080).
const liaison = process.env.LIAISON_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/workspace/',
  root: fileURLToPath(new URL('./workspace/', import.meta.url)),
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('./dist/workspace/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/workspace/api': { target: liaison, ws: true },
      '/participant': { target: liaison, ws: true },
    },
  },
});
