import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The chat widget a website's snippet loads: sources in widget/, built into one self-contained
// script, dist/widget/loader.js (Preact, ChatJS and the styles, which the widget puts in its
// shadow root), that the Liaison binary embeds and serves at /widget/loader.js.
export default defineConfig({
  root: fileURLToPath(new URL('./widget/', import.meta.url)),
  publicDir: false,
  plugins: [preact({ prerender: { enabled: false } })],
  define: {
    'process.env.NODE_ENV': JSON.stringify('production'),
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/widget/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    copyPublicDir: false,
    reportCompressedSize: true,
    lib: {
      entry: fileURLToPath(new URL('./widget/src/main.jsx', import.meta.url)),
      formats: ['iife'],
      name: 'LiaisonWidget',
      fileName: () => 'loader.js',
    },
  },
});
